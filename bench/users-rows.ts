/**
 * The users phase's rows: each multi-user identity source in the sparkgate column, single-user
 * mode (the shared token, measured in the same interleaved blocks) in the floor column, so
 * "sparkgate/floor" is what multi-user mode multiplies a request by. The anchor row puts the
 * Hub's own answer (`GET /hub/api/user` direct) in the floor column instead. No targets: reported.
 */
import type { FigureRow } from './report-table.js';
import type { PhaseFailure } from './target-results.js';
import { USERS_TARGETS, type UsersResults } from './users-suite.js';

export interface UsersRowOptions {
  readonly usersRequests: number;
  readonly usersUpgrades: number;
  readonly usersFileUsers: number;
}

export function usersRows(r: UsersResults | undefined, failures: readonly PhaseFailure[], o: UsersRowOptions): FigureRow[] {
  const failed = (target: string): string | undefined => {
    const f = failures.find((x) => x.target === target && x.phase === 'users');
    if (!f) return undefined;
    const [head, ...rest] = f.message.split('; ');
    return `failed: ${head}${rest.length > 0 ? ' (more in the notes)' : ''}`;
  };
  const notes = (sparkgate: string, floor: string): Pick<FigureRow, 'sparkgateNote' | 'floorNote'> => {
    const sg = failed(sparkgate);
    const fl = failed(floor);
    return { ...(sg ? { sparkgateNote: sg } : {}), ...(fl ? { floorNote: fl } : {}) };
  };
  const n = (x: number): string => x.toLocaleString('en-US');
  const users = n(r?.fileUsers ?? o.usersFileUsers);
  const sources = [
    { key: 'usersFile', name: `users-file token (${users} users in the file)` },
    { key: 'hubCached', name: `JupyterHub token, cached (the default ${r?.cacheSeconds ?? 60} s)` },
    { key: 'hubUncached', name: 'JupyterHub token, uncached (`jupyterhubCacheSeconds: 0`)' },
  ] as const;
  const rows: FigureRow[] = [];
  const requests = r?.requests;
  const reqN = n(requests?.single?.n ?? o.usersRequests);
  for (const s of sources) {
    for (const p of ['p50', 'p99'] as const) {
      rows.push({
        figure: `multi-user: \`GET /api/kernels\` (keep-alive), ${s.name}, ${p} of ${reqN} (floor: single-user shared token)`,
        unit: 'ms',
        sparkgate: requests?.[s.key]?.[p],
        floor: requests?.single?.[p],
        ...notes(USERS_TARGETS[s.key], USERS_TARGETS.single),
      });
    }
  }
  for (const p of ['p50', 'p99'] as const) {
    rows.push({
      figure: `multi-user: \`GET /api/kernels\`, JupyterHub token uncached, ${p} (anchor in the floor column: \`GET /hub/api/user\` straight to the Hub, HubAuth's uncached check)`,
      unit: 'ms',
      sparkgate: requests?.hubUncached?.[p],
      floor: requests?.hubDirect?.[p],
      ...notes(USERS_TARGETS.hubUncached, USERS_TARGETS.hubDirect),
    });
  }
  const upgrades = r?.upgrades;
  const upN = n(upgrades?.single?.n ?? o.usersUpgrades);
  for (const s of sources) {
    for (const p of ['p50', 'p99'] as const) {
      rows.push({
        figure: `multi-user: kernel websocket upgrade + first \`kernel_info_reply\`, ${s.name}, ${p} of ${upN} (floor: single-user shared token)`,
        unit: 'ms',
        sparkgate: upgrades?.[s.key]?.[p],
        floor: upgrades?.single?.[p],
        ...notes(USERS_TARGETS[s.key], USERS_TARGETS.single),
      });
    }
  }
  const m = r?.memory;
  const memNote = failed(USERS_TARGETS.memory);
  rows.push({
    figure: `multi-user: gateway RSS, fresh, ${users}-user file loaded (floor: single-user gateway)`,
    unit: 'MB',
    sparkgate: m?.usersFileMB,
    floor: m?.singleMB,
    ...(memNote ? { sparkgateNote: memNote, floorNote: memNote } : {}),
  });
  rows.push({ figure: `multi-user: gateway RSS delta of the ${users}-user file (the two fresh processes above)`, unit: 'MB', sparkgate: m?.deltaMB, ...(memNote ? { sparkgateNote: memNote } : {}) });
  return rows;
}

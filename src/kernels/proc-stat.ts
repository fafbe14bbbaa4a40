/**
 * What /proc/<pid>/stat says about a process (Linux; proc(5)): its parent, process group and
 * start time. The start time (clock ticks since boot) tells a process apart from a later one
 * that got the same pid, which is how the runtime dir and the orphan guard recognise "theirs".
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie: exited, not yet reaped by its parent), T, ... */
  state: string;
  ppid: number;
  pgid: number;
  /** Field 22, `starttime`: clock ticks after boot, as a decimal string. */
  startTime: string;
}

/** Parses the text of /proc/<pid>/stat; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  // After the name: state (field 3), ppid (4), pgrp (5), ... starttime (22).
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0] ?? '';
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  const startTime = fields[19];
  if (!Number.isInteger(ppid) || !Number.isInteger(pgid) || !startTime || !/^\d+$/.test(startTime)) return undefined;
  return { pid, state, ppid, pgid, startTime };
}

/** undefined when the process does not exist (or there is no /proc). */
export function procStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function hasProcfs(): boolean {
  return procStat(process.pid) !== undefined;
}

/** Whether a pid exists at all (signal 0; EPERM means it exists but is someone else's). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every process of a group that is still running (zombies left out); [] without /proc. */
export function groupMembers(pgid: number): ProcStat[] {
  const members: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgid === pgid && stat.state !== 'Z') members.push(stat);
  }
  return members;
}

/**
 * Whether a process group still has a running member. With /proc, zombies do not count: an
 * orphan that exited stays a zombie until its new parent (PID 1, a subreaper) gets round to it.
 */
export function groupExists(pgid: number): boolean {
  if (pgid <= 1 || !pidExists(-pgid)) return false;
  return !hasProcfs() || groupMembers(pgid).length > 0;
}

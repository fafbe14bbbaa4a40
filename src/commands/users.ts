/**
 * `sparkgate users`: the operator's side of multi-user mode.
 *
 * - `sparkgate users token NAME [--team T] [--admin] [--trusted]`: a fresh random token for a
 *   user (give it to them) and the users-file entry with its SHA-256 digest (keep that).
 * - `sparkgate users check FILE`: validate a users file as the gateway will read it.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { readPolicyFile, PolicyFileError, USER_NAME } from '../users/policy-file.js';
import { newUserToken } from '../users/users.js';

export function registerUsers(program: Command): void {
  const users = program.command('users').description('Multi-user mode: make user tokens, check a users file');
  users
    .command('token')
    .description("print a new API token for a user and the users-file entry that holds its SHA-256 digest")
    .argument('<name>', 'the user name')
    .option('--team <team>', "the user's team")
    .option('--admin', 'an admin (sees and manages every session)')
    .option('--trusted', 'a client trusted to start kernels for the user its KERNEL_USERNAME names (a shared Jupyter Server)')
    .action((name: string, flags: { team?: string; admin?: boolean; trusted?: boolean }) => {
      if (!USER_NAME.test(name)) {
        process.stderr.write(`sparkgate users token: ${JSON.stringify(name)} is not a valid user name (letters, digits, . _ @ + -)\n`);
        process.exitCode = 2;
        return;
      }
      const { token, sha256 } = newUserToken(randomBytes);
      const entry = {
        name,
        tokenSha256: sha256,
        ...(flags.team ? { team: flags.team } : {}),
        ...(flags.admin ? { admin: true } : {}),
        ...(flags.trusted ? { trusted: true } : {}),
      };
      process.stdout.write(
        `# token for ${name} (shown once; the gateway stores only its digest):\n#   ${token}\n` +
          `# add to the users file (users:):\n${stringify([entry])}`,
      );
    });
  users
    .command('check')
    .description('validate a users file (exit 1 with the mistakes named)')
    .argument('<file>', 'the users file (YAML or JSON)')
    .action((file: string) => {
      try {
        const policy = readPolicyFile(file);
        const teams = Object.keys(policy.teams);
        process.stdout.write(`${file}: ${policy.users.length} users, ${teams.length} teams${teams.length ? ` (${teams.join(', ')})` : ''}\n`);
      } catch (err) {
        if (!(err instanceof PolicyFileError)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 1;
      }
    });
}

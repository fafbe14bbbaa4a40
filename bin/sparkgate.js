#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm ci builds dist/ through the prepare script).
import { main } from '../dist/cli.js';

main(process.argv).catch((err) => {
  process.stderr.write(`sparkgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

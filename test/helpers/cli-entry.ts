// Runs the CLI from source (tests spawn this with `node --import tsx`), as bin/sparkgate.js runs dist/.
import { main } from '../../src/cli.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`sparkgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

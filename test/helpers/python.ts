/**
 * The project venv's interpreter (scripts/ensure-python.sh, pinned requirements/runtime.txt and
 * requirements/test.txt: ipykernel, pyspark, nbformat, matplotlib). Tests run Python through it,
 * never /usr/bin/python3, whose Debian packages the project's scripts no longer install.
 */
import path from 'node:path';
import { REPO_ROOT } from '../../src/config.js';

export const VENV_PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');

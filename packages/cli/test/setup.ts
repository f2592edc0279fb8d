import { afterEach } from 'vitest';
import { stopChildren } from './cli.js';

// Setup files run for every test file, also when modules are shared between files.
afterEach(stopChildren);

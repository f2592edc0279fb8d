import { usersSuite } from './users-suite.js';

usersSuite('sqlite');

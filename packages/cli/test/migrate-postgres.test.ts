import { migrateSuite } from './migrate-suite.js';

migrateSuite('postgres');

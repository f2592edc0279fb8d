import { usersAdminSuite } from './users-suite.js';

usersAdminSuite('postgres');

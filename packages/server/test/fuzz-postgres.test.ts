// The seeded fuzz run over every route of the contract, on PostgreSQL: see helpers/fuzz.ts.
import { fuzzStore } from './helpers/fuzz.js';

fuzzStore('postgres');

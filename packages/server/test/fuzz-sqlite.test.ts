// The seeded fuzz run over every route of the contract, on SQLite: see helpers/fuzz.ts.
import { fuzzStore } from './helpers/fuzz.js';

fuzzStore('sqlite');

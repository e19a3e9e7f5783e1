#!/usr/bin/env node
// The herald-receive command. A file in the source tree, not in dist/, so npm links the bin when
// the workspace is installed, before anything is built: `npm exec herald-receive` in a checkout then
// runs this package and never looks the name up on the registry.
import '../dist/cli.js';

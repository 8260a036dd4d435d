#!/usr/bin/env node
// Placeholder: replaced by the headless command line.
console.error('mptree: not built yet');
process.exit(2);

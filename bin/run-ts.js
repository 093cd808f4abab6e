#!/usr/bin/env node
// Runs one TypeScript file (benchmarks, scripts) through tsx's loader.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import process from 'node:process';
register();
const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: run-ts.js FILE.ts [args]\n');
  process.exit(2);
}
process.argv.splice(1, 1);
await import(pathToFileURL(path.resolve(file)).href);

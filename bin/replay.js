#!/usr/bin/env node
// The `replay` command. The sources are TypeScript run through tsx's loader,
// so there is no build step between a clone and a running service.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');

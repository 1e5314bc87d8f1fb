#!/usr/bin/env node
// Runs the TypeScript login helper directly: tsx compiles it on the fly.
import { register } from 'tsx/esm/api';

register();
await import('../login-helper/main.ts');

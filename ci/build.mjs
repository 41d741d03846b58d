#!/usr/bin/env node
// Bundles the CLI into dist/lifeboat.mjs (and the schema generator into dist/gen-schema.mjs).
// npm dependencies stay external: they are installed beside it by npm.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { lifeboat: 'src/cli/main.ts', 'gen-schema': 'ci/gen-schema.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  banner: { js: '#!/usr/bin/env node' },
});
chmodSync('dist/lifeboat.mjs', 0o755);

// The library closure alone, for bench/capture.mjs to time against `ldd`.
await build({
  ...common,
  entryPoints: { 'bench-libraries': 'src/capture/libraries.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
});

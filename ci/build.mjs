#!/usr/bin/env node
// Bundles the CLI into dist/lifeboat.mjs (and the schema generator into dist/gen-schema.mjs).
// npm dependencies stay external: they are installed beside it by npm.
import { chmodSync, readFileSync } from 'node:fs';
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

// lifeboat inside the rescue system (dist/rescue/lifeboat.mjs): one file with every npm
// dependency in it, for Debian bookworm's Node.js 18, with no package.json beside it (src/paths.ts
// takes the version from LIFEBOAT_VERSION instead). ssh2's optional native parts (cpu-features,
// sshcrypto.node) stay out: ssh2 requires them in try/catch and falls back to plain JavaScript.
// So does typescript (10 MB), cosmiconfig's optional peer for *.ts configuration files, which the
// rescue system does not read. The banner gives the bundled CommonJS packages what ESM lacks:
// `require` for Node's own modules, `__filename` and `__dirname`.
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
await build({
  ...common,
  packages: undefined,
  target: 'node18',
  sourcemap: false,
  entryPoints: { lifeboat: 'src/cli/main.ts' },
  outdir: 'dist/rescue',
  outExtension: { '.js': '.mjs' },
  define: { LIFEBOAT_VERSION: JSON.stringify(version) },
  external: ['cpu-features', '*.node', 'typescript'],
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as lifeboatCreateRequire } from 'node:module';",
      "import { dirname as lifeboatDirname } from 'node:path';",
      "import { fileURLToPath as lifeboatFileURLToPath } from 'node:url';",
      'const require = lifeboatCreateRequire(import.meta.url);',
      'const __filename = lifeboatFileURLToPath(import.meta.url);',
      'const __dirname = lifeboatDirname(__filename);',
    ].join('\n'),
  },
});
chmodSync('dist/rescue/lifeboat.mjs', 0o755);

// Writes schema/lifeboat.schema.json and docs/configuration.md from src/config/schema.ts.
// Run by `npm run schema`; a unit test fails when the checked-in files are not current.
import { mkdirSync, writeFileSync } from 'node:fs';
import { configJsonSchema, configReferenceMarkdown } from '../src/config/reference.js';

mkdirSync('schema', { recursive: true });
mkdirSync('docs', { recursive: true });
writeFileSync('schema/lifeboat.schema.json', configJsonSchema());
writeFileSync('docs/configuration.md', configReferenceMarkdown());
console.log('wrote schema/lifeboat.schema.json and docs/configuration.md');

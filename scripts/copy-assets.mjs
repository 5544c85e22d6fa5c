// Copies non-TypeScript assets (SQL migrations, the chart font) next to the compiled code and marks the CLI executable.
import { cpSync, chmodSync } from 'node:fs';
cpSync('src/store/migrations', 'dist/store/migrations', { recursive: true });
cpSync('src/evidence/chart/fonts', 'dist/evidence/chart/fonts', { recursive: true });
chmodSync('dist/cli.js', 0o755);

// Lint: floating promises anywhere; no Node built-ins (or I/O packages) in workflow code, which must be
// deterministic and runs in Temporal's sandbox.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'tools/**', '.data/**', 'dist/**', '.test-tmp/**', '.scratch/**', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's describe/test return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^node:', message: 'Workflow code must be deterministic: no Node built-ins; do I/O in an activity.' },
          { regex: '^(fs|path|os|crypto|child_process|net|http|https|stream|util|url|zlib|events|buffer|timers|worker_threads)(/.*)?$', message: 'Workflow code must be deterministic: no Node built-ins; do I/O in an activity.' },
          { regex: '^(postgres|ssh2-sftp-client|basic-ftp|@aws-sdk/.*|express|pino|luxon)$', message: 'No I/O or heavy libraries in workflow code; call an activity.' },
          { regex: '^\\.\\./(activities|api|db|worker)(/.*)?$', message: 'Workflows import activities with `import type` only.', allowTypeImports: true },
        ],
      }],
    },
  },
);

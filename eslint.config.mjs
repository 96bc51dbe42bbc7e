// Lint: floating promises anywhere; no Node built-ins (or I/O packages) in workflow code, which must be
// deterministic and runs in Temporal's sandbox; imports run one way (docs/architecture.md "Import direction"):
// contracts/ and shared/ import nothing of the project, lib/ never imports workflows/, workflows/ never lib/.
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
          { regex: '^(\\.\\./)+lib(/.*)?$', message: 'Workflows do not import lib/: a contract goes to contracts/, a pure helper to shared/ (docs/architecture.md).' },
        ],
      }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^(\\.\\./)+(workflows|activities|api|worker)(/.*)?$', message: 'lib/ does not import workflows/, activities/, api/ or worker/: a contract it needs belongs in contracts/ (docs/architecture.md).' },
        ],
      }],
    },
  },
  {
    files: ['contracts/**/*.ts', 'shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^\\.\\./(?!shared/)', message: 'contracts/ and shared/ depend on nothing of the project (contracts may import shared/): move the type into the contract.' },
        ],
      }],
    },
  },
);

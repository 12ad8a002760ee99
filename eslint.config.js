// ESLint for the TypeScript of src/, test/ and bench/ (`npm run lint`; layers and cycles are checked by
// dependency-cruiser, see .dependency-cruiser.cjs). src/ gets the type-aware recommended set; test/
// and bench/ a lighter one without type information; the console's browser modules (console/js/,
// type-checked by console/tsconfig.json) the recommended JavaScript set.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** SQL belongs in src/store/: a query built from a string outside it is refused. */
const sqlOutsideStore = [
  {
    selector: "CallExpression[callee.name=/^(knex|trx)$/][arguments.0.type=/^(Literal|TemplateLiteral)$/]",
    message: 'SQL belongs in src/store/.',
  },
  {
    selector: "CallExpression[callee.property.name=/^(knex|trx|raw)$/][arguments.0.type=/^(Literal|TemplateLiteral)$/]",
    message: 'SQL belongs in src/store/.',
  },
];

/** `_name` marks a binding kept on purpose (a destructured field left out, an unused callback parameter). */
const unusedVars = [
  'error',
  { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
];

/** A focused test (`it.only`) would silently skip the rest of the suite. */
const focusedTests = [
  {
    selector: "CallExpression[callee.object.name=/^(it|describe|context|specify|suite|test)$/][callee.property.name='only']",
    message: 'No focused tests: remove `.only`.',
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', '**/*.js', '**/*.mjs', '**/*.cjs', '!console/js/**/*.js'] },
  {
    files: ['src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Kept as errors on purpose (they are in the recommended set; restated so that no later
      // tuning turns them off): a promise nobody awaits loses its rejection, `any` turns off the checker.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': unusedVars,
      // Noise here: auth providers, token stores and repositories implement Promise-returning
      // interfaces with `async` methods that need no await, so that a throw becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      // Handing on a rejection reason received as `unknown` (an abort signal's reason, a caught
      // error) is forwarding, not inventing a non-Error reason; literals are still refused.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      'no-restricted-syntax': ['error', ...sqlOutsideStore],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: {
      'no-restricted-syntax': 'off',
      // knex query builders are thenables, so the rule takes the grouping callbacks of where() and
      // andWhere() (which return the builder, and whose result knex ignores) for async callbacks.
      // Every other check of the rule (conditionals, spreads, void-returning properties) stays on.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // The store states the row type of a query as an assertion on its result (`as Row[]`) rather
      // than as knex's type parameters; the rule would have every such line rewritten the other way.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['console/js/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The compiler (checkJs, DOM types) knows the browser's globals; ESLint's list would repeat it.
      'no-undef': 'off',
      'no-unused-vars': unusedVars,
      // The page's policy forbids inline script and styles: markup is built from elements and text only.
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Build elements with h() and textContent (the page allows no inline markup).' },
        { property: 'outerHTML', message: 'Build elements with h() and textContent.' },
        { property: 'insertAdjacentHTML', message: 'Build elements with h() and textContent.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-restricted-syntax': ['error', ...focusedTests],
      '@typescript-eslint/no-unused-vars': unusedVars,
      // chai's property assertions (`expect(x).to.be.true`) are expressions by design.
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);

/**
 * Layers and cycles of src/, checked by `npm run lint` (`depcruise src`), and by
 * test/unit/lint/layers.test.ts on fixtures. Type-only imports count: a type shared across layers
 * couples them as much as a value does. Paths are relative to the directory depcruise runs in.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'src/domain holds pure types and rules (events, the delivery state machine, retry, breaker, ordering): ' +
        'it imports nothing of ours outside src/domain. Node built-ins and packages are not ours and stay allowed.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'sql-drivers-only-in-store',
      comment: 'All SQL lives in src/store: only it imports knex and the database drivers (pg, sqlite3).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/store/' },
      // Resolved into node_modules, or named as such where it cannot be resolved.
      to: { path: ['(^|/)node_modules/(knex|pg|sqlite3|@types/pg)/', '^(knex|pg|sqlite3)(/|$)'] },
    },
    {
      name: 'store-rows-are-pure',
      comment:
        'src/store/rows/ builds the rows the store writes and maps the rows it reads, without I/O: shared by ' +
        'both backends (the SQLite thread included). It imports only the domain, its own modules, and no package.',
      severity: 'error',
      from: { path: '^src/store/rows/' },
      to: { pathNot: ['^src/domain/', '^src/store/rows/'] },
    },
    {
      name: 'sandbox-only-from-edges',
      comment:
        'The emulated Fusion and ShipBob peers are demo and test equipment, wired in by the composition root ' +
        '(src/app.ts) only, which mounts their routes through its HTTP surface (src/app/http-surface.ts, apart ' +
        'from app.ts only to keep the route table out of the composition root, hence allowed with it). ' +
        'The CLI (src/cli/) is an edge like app.ts: `omgw sandbox push` runs the emulated ' +
        'OM pusher as a client of a running gateway, so it may import src/sandbox too. Nothing else may.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/app\\.ts$', '^src/app/http-surface\\.ts$', '^src/cli/', '^src/sandbox/'] },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'console-is-browser-only',
      comment:
        'console/ holds the operator console\'s browser modules, served as files by src/admin/console.ts: ' +
        'they use the DOM and run in the browser only, so nothing in src/ may import them.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^console/' },
    },
    {
      name: 'no-cycle',
      comment: 'No import cycles anywhere in src/ (type-only imports included).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'resolvable',
      comment: 'Every import resolves: a specifier the cruiser cannot follow would hide it from the rules above.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
      conditionNames: ['import', 'require', 'node', 'default'],
      exportsFields: ['exports'],
    },
  },
};

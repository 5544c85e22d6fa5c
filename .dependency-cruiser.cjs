/**
 * Layer rules of backup-bot (../shared/ARCHITECTURE.md), checked by `npm run lint:layers`:
 *
 *   front doors   src/cli.ts, src/cli/, src/commands/, src/approvals/, src/jobs/   (and src/slack/ today)
 *   notify        src/notify/
 *   operations    src/operations/
 *   evidence      src/evidence/
 *   core          src/core/
 *   store         src/store/
 *   config        src/config/
 *
 * Data flows down, never up. Every rule looks at direct imports, type-only imports included (a type import
 * is a dependency of the design even though the compiler erases it).
 */

/** The layers below the front doors: what they import decides what every front door drags in. */
const BELOW_FRONT_DOORS = '^src/(config|core|store|operations|evidence)/';
/** The front doors and the Slack/console reporters: they call the layers below, never the other way. */
const FRONT_DOORS_AND_NOTIFY = '^src/(slack|notify|commands|approvals|jobs|cli)(/|\\.ts$)';
/** Leaf helpers of core that the store and config may use: no I/O, no further src imports. */
const CORE_LEAF_HELPERS = '^src/core/(errors|redact|time|canonical)\\.ts$';
/** The PostgreSQL driver and its types. */
const PG = '(^|/)node_modules/(pg|pg-[^/]+|@types/pg)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'A cycle makes two modules one: neither can be understood, tested or moved alone, and a module in ' +
        'the cycle can see the other half-initialised at start-up. Break it by moving the shared piece down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment:
        'A module nothing imports and that imports nothing is dead code or a forgotten entry point ' +
        '(entry points import something, so they are not orphans). Delete it or wire it in.',
      severity: 'error',
      from: { orphan: true, pathNot: ['\\.d\\.ts$'] },
      to: {},
    },
    {
      name: 'no-upward-import-to-front-doors',
      comment:
        'config, core, store, operations and evidence are called by every front door (CLI, slash commands, ' +
        'approval buttons, bree jobs); importing a front door or Slack/notify back makes a use case depend on ' +
        'one way of calling it. Operations report through the Reporter interface they define, never Slack.',
      severity: 'error',
      from: { path: BELOW_FRONT_DOORS },
      to: { path: FRONT_DOORS_AND_NOTIFY },
    },
    {
      name: 'notify-calls-no-front-door',
      comment:
        'The reporters (Slack, console) are wired in by the front doors and render what operations report; ' +
        'a reporter that imports a command, approval, job or the CLI turns the layering upside down.',
      severity: 'error',
      from: { path: '^src/notify/' },
      to: { path: '^src/(commands|approvals|jobs|cli)(/|\\.ts$)' },
    },
    {
      name: 'core-and-store-below-operations',
      comment:
        'core (dump, storage, staging, verify, retention, naming, crypto) and store (the state database) are ' +
        'the building blocks of the use cases; importing operations or evidence from them inverts the flow ' +
        'and makes each use case part of its own building blocks.',
      severity: 'error',
      from: { path: '^src/(core|store)/' },
      to: { path: '^src/(operations|evidence)/' },
    },
    {
      name: 'store-uses-only-core-leaf-helpers',
      comment:
        'store sits below core: it may use the leaf helpers (errors, redact, time), nothing that dumps, ' +
        'stores, stages or verifies. Today store/db.ts uses errors and redact, store/restore-test-register.ts time, ' +
        'store/chain.ts canonical (the one serialisation the evidence hashes are computed over).',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/core/', pathNot: CORE_LEAF_HELPERS },
    },
    {
      name: 'config-is-the-bottom-layer',
      comment:
        'config is read by every layer, so it reads none of them but the core leaf helpers (today ' +
        'config/load.ts uses errors and redact, config/cron.ts time). Front doors: see the rule above.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: ['^src/config/', CORE_LEAF_HELPERS, FRONT_DOORS_AND_NOTIFY] },
    },
    {
      name: 'pg-only-in-store-and-database-core',
      comment:
        'SQL for the state database lives in src/store alone (named queries); besides it, only the core ' +
        'modules that talk to a client database or a staging copy may use the driver: core/dump (row ' +
        'counts, server version), core/restore (pg admin, partial restore), core/staging (readiness), ' +
        'core/demo-database (the quickstart client\'s sample data). ' +
        'Anything else gets a store function or a core function instead of a pool.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(store/|core/(dump|restore|staging)/|core/demo-database\\.ts$)' },
      to: { path: PG },
    },
    {
      name: 'slack-client-libraries-load-only-where-slack-runs',
      comment:
        'Bolt (express, jsonwebtoken, undici) and the Web API client cost ~16 MB of RSS and 0.2 s to load: a ' +
        'value import of either on a path the CLI loads (bolt-logger\'s LogLevel did) made every `backup-bot ' +
        'backup` pay for them. Only src/slack (the server) imports them as values; notify/slack/web-sink is ' +
        'reached from the CLI by a dynamic import, when there is something to post. Type-only imports are free.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(slack/|notify/slack/web-sink\\.ts$|server\\.ts$)' },
      to: { path: '(^|/)node_modules/@slack/(bolt|web-api)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'cli-reaches-the-slack-client-only-lazily',
      comment: 'The CLI loads notify/slack/web-sink (and with it @slack/web-api) only with import(), when it posts.',
      severity: 'error',
      from: { path: '^src/(cli/|cli\\.ts$)' },
      to: { path: '^src/notify/slack/web-sink\\.ts$', dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports count (see the comment at the top)
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};

import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { checkEvidence } from '../operations/check-evidence.js';
import { osUser } from './backup.js';
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { makeEvidencePack } from '../operations/evidence-report.js';
import { reportPeriod } from '../operations/evidence-period.js';

/**
 * `backup-bot evidence verify [--json]`: every hash chain, signature and signed head recomputed; exit 0 with a
 * one-line summary when all holds (and the current heads are signed), exit 1 naming each broken record.
 */
export function registerEvidenceCommand(program: Command): void {
  const evidence = program.command('evidence').description('the evidence registers: verify their hash chains and signatures; the inspector\'s signed report');
  evidence
    .command('verify')
    .description('verify every hash chain, decision signature and signed chain head; exit 1 naming each broken record')
    .action(action(async (_opts: unknown, cmd: Command) => withContext(cmd, async (ctx) => {
      const r = await checkEvidence(ctx, { reason: 'verify', actor: osUser() });
      if (globals(cmd).json) printJson(r);
      else {
        printLine(r.summary);
        for (const b of r.broken) printLine(`  ${b.register} ${b.id}: ${b.what} — ${b.detail}`);
      }
      return r.ok ? 0 : 1;
    })));
  registerReportCommand(evidence);
}

const reportOptions = z.strictObject({
  client: z.string().min(1).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  lang: z.enum(['es', 'en'], { error: (iss) => `--lang ${JSON.stringify(iss.input)} is not accepted (accepted: es, en)` }).optional(),
  out: z.string().min(1).optional(),
});

/**
 * `backup-bot evidence report [--client C] [--from DATE] [--to DATE] [--lang es|en] [--out DIR]`: the signed
 * evidence pack (report.html, report.pdf, evidence.zip, their .sha256 and .sig, signing-key.pem) of the period
 * (default: the last complete quarter). Exit 0 when the registers verify, 1 when the pack was written but shows
 * broken records (or could not be made), 2 for a usage mistake.
 */
function registerReportCommand(evidence: Command): void {
  evidence
    .command('report')
    .description('write the signed evidence pack (report.html, report.pdf, evidence.zip) of a period; exit 1 when records are broken')
    .option('--client <client>', 'one client (default: every client)')
    .option('--from <date>', 'first day, YYYY-MM-DD (default: the first day of the last complete quarter)')
    .option('--to <date>', 'last day, inclusive, YYYY-MM-DD (default: the last day of that quarter, or today with --from)')
    .option('--lang <lang>', 'es or en (default: the config key locale)')
    .option('--out <dir>', 'where to write the pack (default: ./evidence-report-<period>)')
    .action(action(async (raw: unknown, cmd: Command) => {
      const parsed = reportOptions.safeParse(raw);
      if (!parsed.success) throw new UserError(parsed.error.issues.map((i) => i.message).join('; '));
      const o = parsed.data;
      return withContext(cmd, async (ctx) => {
        const period = reportPeriod({ from: o.from, to: o.to }, ctx.clock.now(), ctx.config.timezone);
        const outDir = o.out ?? `evidence-report-${period.label.replace(/[^0-9A-Za-z-]+/g, '_')}${o.client ? `-${o.client}` : ''}`;
        const r = await makeEvidencePack(ctx, { period, client: o.client, lang: o.lang ?? ctx.config.locale, outDir, actor: osUser(), trigger: 'cli' });
        if (globals(cmd).json) printJson(r);
        else {
          printLine(`evidence report ${r.period.label} written to ${r.outDir}: report.html, report.pdf, evidence.zip (signed with key ${r.keyId})`);
          printLine(`  report.html sha256 ${r.reportSha256}`);
          printLine(`  ${r.evidence.summary}${r.brokenRows ? ` — ${r.brokenRows} row(s) of the period shown as broken` : ''}`);
          printLine(`  verify offline: cd ${r.outDir} && sha256sum -c report.html.sha256 && openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in report.html -sigfile report.html.sig`);
        }
        return r.evidence.ok ? 0 : 1;
      }, { client: o.client });
    }));
}

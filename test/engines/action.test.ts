/**
 * GitHub Actions (issue 13): action.yml, checked here WITHOUT GitHub — this is not a workflow run.
 * What can be checked locally is checked: the YAML's structure (a composite action, its inputs and
 * outputs, every output wired to a step that exists, every script step with a shell), and its
 * `run:` scripts executed as the runner would (bash --noprofile --norc -eo pipefail, inputs and
 * `github.action_path` substituted into the steps' env, GITHUB_OUTPUT a file) against this
 * checkout; the images they write are judged by sgdisk, sfdisk, e2fsck, debugfs, fsck.fat, mtools
 * and qemu-img. The install step runs in its "already built" branch (this checkout is built; its
 * other branch is `npm ci` and `npm run build`, which this test must not run in a shared
 * checkout). The `uses: actions/setup-node` step is not run. The matrix workflow in
 * docs/scale-out.md must parse and call the action with inputs it declares.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { judgeEfiImage, notBuilt, sha256File, writeInputs } from './helpers.js';

interface Input { description: string; required?: boolean; default?: string }
interface Step { name?: string; id?: string; uses?: string; run?: string; shell?: string; env?: Record<string, string>; with?: Record<string, string> }
interface Action { name: string; description: string; inputs: Record<string, Input>; outputs: Record<string, { value: string }>; runs: { using: string; steps: Step[] } }

const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as Action;
const { dir, cleanup } = tempDir('dw-action-');
after(cleanup);

test('action.yml is a composite action whose outputs come from its steps', () => {
  assert.equal(action.runs.using, 'composite');
  assert.ok(action.name && action.description);
  assert.deepEqual(Object.keys(action.inputs).sort(), ['compression', 'format', 'node-version', 'output', 'report', 'spec']);
  assert.equal(action.inputs.spec?.required, true);
  for (const [name, input] of Object.entries(action.inputs)) {
    assert.ok(input.description, `input ${name} has a description`);
    if (!input.required) assert.equal(typeof input.default, 'string', `input ${name} has a default`);
  }
  const ids = new Set(action.runs.steps.map((s) => s.id).filter(Boolean));
  assert.deepEqual(Object.keys(action.outputs).sort(), ['cli', 'image', 'report', 'sha256']);
  for (const [name, o] of Object.entries(action.outputs)) {
    const m = /^\$\{\{ steps\.([a-z-]+)\.outputs\.([a-z0-9-]+) \}\}$/.exec(o.value);
    assert.ok(m && ids.has(m[1]!), `output ${name} (${o.value}) names a step of the action`);
  }
  for (const s of action.runs.steps) {
    assert.ok((s.run === undefined) !== (s.uses === undefined), `${s.name}: run or uses`);
    if (s.run !== undefined) assert.equal(s.shell, 'bash', `${s.name}: composite run steps need a shell`);
    // Inputs reach scripts through env only: an expression inside the script text would be spliced in unquoted.
    if (s.run !== undefined) assert.doesNotMatch(s.run, /\$\{\{/, `${s.name}: no expression in the script`);
  }
});

/** Evaluate the expressions the action's env uses: inputs, github.action_path, steps' outputs. */
function expand(value: string, ctx: { inputs: Record<string, string>; steps: Record<string, Record<string, string>> }): string {
  return value.replace(/\$\{\{\s*([a-z0-9_.-]+)\s*\}\}/g, (_, expr: string) => {
    const [root, a, b, c] = expr.split('.');
    if (root === 'inputs' && a !== undefined) return ctx.inputs[a] ?? '';
    if (root === 'github' && a === 'action_path') return ROOT;
    if (root === 'steps' && a !== undefined && b === 'outputs' && c !== undefined) return ctx.steps[a]?.[c] ?? '';
    throw new Error(`action.yml: expression ${expr} is not one this test evaluates`);
  });
}

/** Run the action's script steps with `given` inputs; returns the action's outputs. */
function runAction(given: Record<string, string>, cwd: string): Record<string, string> {
  const inputs = Object.fromEntries(Object.entries(action.inputs).map(([k, i]) => [k, given[k] ?? i.default ?? '']));
  const steps: Record<string, Record<string, string>> = {};
  let n = 0;
  for (const s of action.runs.steps) {
    if (s.run === undefined) continue; // actions/setup-node: this node is the one set up
    const outFile = join(dir, `github-output-${n++}`);
    writeFileSync(outFile, '');
    const env: NodeJS.ProcessEnv = { ...process.env, GITHUB_OUTPUT: outFile, GITHUB_ACTION_PATH: ROOT, RUNNER_TEMP: join(dir, 'runner-temp') };
    for (const [k, v] of Object.entries(s.env ?? {})) env[k] = expand(v, { inputs, steps });
    const script = join(dir, `step-${n}.sh`);
    writeFileSync(script, s.run);
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env, encoding: 'utf8' });
    assert.equal(r.status, 0, `step ${s.name}:\n${r.stdout}\n${r.stderr}`);
    if (s.id) steps[s.id] = Object.fromEntries(readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(action.outputs).map(([k, o]) => [k, expand(o.value, { inputs, steps })]));
}

test('the action\'s scripts build images with the inputs given (run locally, not on GitHub)', { skip: notBuilt }, () => {
  mkdirSync(join(dir, 'runner-temp'));
  const work = join(dir, 'work');
  const inputs = writeInputs(work);
  writeFileSync(join(work, 'efi.yaml'), `name: efi
layout: efi
bootSize: 64M
additionalSpace: 8M
sourceDateEpoch: 1
root:
  contents:
    - { source: tree, target: / }
    - { source: hosts, target: /etc/hosts, mode: "0600", user: root, group: root }
boot:
  contents:
    - { source: esp, target: / }
`);
  // Default output and report: the spec's name and format in the working directory; a report in RUNNER_TEMP.
  const raw = runAction({ spec: 'efi.yaml' }, work);
  assert.equal(raw.image, join(work, 'efi.img'));
  assert.equal(raw.cli, join(ROOT, 'dist/cli/main.js'));
  assert.equal(raw.sha256, sha256File(raw.image!));
  assert.ok(raw.report?.startsWith(join(dir, 'runner-temp')), raw.report);
  const scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  judgeEfiImage(raw.image!, inputs, scratch);

  // A matrix cell: output, format and report given.
  const vdi = runAction({ spec: 'efi.yaml', output: 'out/efi.vdi', format: 'vdi', report: 'out/efi.json' }, work);
  assert.equal(vdi.image, join(work, 'out/efi.vdi'));
  assert.equal(vdi.report, 'out/efi.json');
  assert.equal(vdi.sha256, sha256File(vdi.image!));
  assert.equal((JSON.parse(readFileSync(join(work, 'out/efi.json'), 'utf8')) as { sha256: string }).sha256, vdi.sha256);
  runOk('qemu-img', ['check', vdi.image!]);
  runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'vdi', raw.image!, vdi.image!]);
});

test('the matrix workflow in docs/scale-out.md parses and calls the action with its inputs', () => {
  const doc = readFileSync(join(ROOT, 'docs/scale-out.md'), 'utf8');
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('strategy:'));
  assert.ok(block, 'docs/scale-out.md has a workflow with a matrix');
  const wf = parse(block) as { jobs: Record<string, { strategy?: { matrix?: Record<string, unknown> }; steps: Step[] }> };
  const jobs = Object.values(wf.jobs);
  const job = jobs.find((j) => j.strategy?.matrix);
  assert.ok(job, 'a job with a matrix');
  const uses = job.steps.filter((s) => s.uses !== undefined && /diskwright/.test(s.uses));
  assert.equal(uses.length, 1, 'the job uses the action once');
  for (const k of Object.keys(uses[0]!.with ?? {})) assert.ok(k in action.inputs, `with: ${k} is an input of action.yml`);
  for (const [k, i] of Object.entries(action.inputs)) if (i.required) assert.ok(k in (uses[0]!.with ?? {}), `with: gives the required ${k}`);
});

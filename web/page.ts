// The page (web/index.html): drop zone or pickers → tree, choice → plan (the --dry-run table),
// build → progress bar → download (a Blob URL, or streamed to a file the user chose).
import { BlobSink, DiskwrightError, WritableFileSink, emitWeb, filesFromDrop, filesFromList, memoryTree, planWeb, targets, type DropEntry, type MemoryEntry, type Target, type WebPlan, type WritableFile } from '../src/web/index.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const drop = $<HTMLDivElement>('drop'), summary = $<HTMLDivElement>('summary'), target = $<HTMLSelectElement>('target');
const label = $<HTMLInputElement>('label'), build = $<HTMLButtonElement>('build'), table = $<HTMLPreElement>('table');
const progress = $<HTMLProgressElement>('progress'), status = $<HTMLDivElement>('status'), download = $<HTMLAnchorElement>('download');
const stream = $<HTMLInputElement>('stream');

for (const [k, t] of Object.entries(targets)) target.add(new Option(t.title, k));
if (!('showSaveFilePicker' in window)) stream.disabled = true;

let entries: MemoryEntry[] = [];
let plan: WebPlan | undefined;

function say(text: string, error = false): void {
  status.textContent = text;
  status.className = error ? 'error' : '';
}
const oneLine = (e: unknown): string => e instanceof DiskwrightError ? e.message : String((e as Error)?.message ?? e);

async function take(source: AsyncIterable<MemoryEntry>): Promise<void> {
  const got: MemoryEntry[] = [];
  for await (const e of source) got.push(e);
  entries = got;
  const files = got.filter((e) => e.data), bytes = files.reduce((n, e) => n + e.data!.length, 0);
  summary.textContent = `${files.length} files, ${(bytes / 1048576).toFixed(1)} MiB`;
  await replan();
}

async function replan(): Promise<void> {
  download.hidden = true;
  plan = undefined;
  build.disabled = true;
  if (!entries.length) return;
  try {
    const t0 = performance.now();
    plan = await planWeb(target.value as Target, await memoryTree(entries), { label: label.value });
    table.textContent = plan.table;
    say(`planned in ${Math.round(performance.now() - t0)} ms`);
    build.disabled = false;
  } catch (e) {
    table.textContent = '';
    say(oneLine(e), true);
  }
}

async function run(): Promise<void> {
  if (!plan) return;
  build.disabled = true;
  download.hidden = true;
  const name = `${plan.spec.name}${targets[target.value as Target].suffix}`;
  const onProgress = (done: number, total: number): void => { progress.value = total ? done / total : 1; };
  const t0 = performance.now();
  try {
    if (stream.checked && 'showSaveFilePicker' in window) {
      const pick = (window as unknown as { showSaveFilePicker(o: object): Promise<{ createWritable(): Promise<WritableFile> }> }).showSaveFilePicker;
      const handle = await pick({ suggestedName: name });
      const report = await emitWeb(plan, new WritableFileSink(await handle.createWritable()), { onProgress, name });
      say(`wrote ${name}: ${report.outputBytes} bytes in ${Math.round(performance.now() - t0)} ms, sha256 ${report.sha256}`);
    } else {
      const sink = new BlobSink(plan.disk.size);
      const report = await emitWeb(plan, sink, { onProgress, name });
      if (download.href) URL.revokeObjectURL(download.href);
      download.href = URL.createObjectURL(sink.blob!);
      download.download = name;
      download.textContent = `Download ${name} (${(report.outputBytes! / 1048576).toFixed(1)} MiB)`;
      download.hidden = false;
      download.dataset.sha256 = report.sha256 ?? '';
      say(`built ${name} in ${Math.round(performance.now() - t0)} ms, sha256 ${report.sha256}`);
    }
  } catch (e) {
    say(oneLine(e), true);
  } finally {
    build.disabled = false;
  }
}

$<HTMLInputElement>('folder').addEventListener('change', (ev) => void take(filesFromList((ev.target as HTMLInputElement).files!)));
$<HTMLInputElement>('files').addEventListener('change', (ev) => void take(filesFromList((ev.target as HTMLInputElement).files!)));
drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  const items = Array.from(ev.dataTransfer?.items ?? []).map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  // Without the entry API (a DataTransfer made by a script has no entries) the files still come, without folders.
  void take(items.length ? filesFromDrop(items as unknown as DropEntry[]) : filesFromList(ev.dataTransfer?.files ?? []));
});
target.addEventListener('change', () => void replan());
label.addEventListener('change', () => void replan());
build.addEventListener('click', () => void run());
// Milliseconds from navigation start to a usable page (bench/web.bench.ts reads it).
document.body.dataset.readyMs = String(Math.round(performance.now()));
document.body.dataset.ready = '1';

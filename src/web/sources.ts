/**
 * Browser tree sources (src/tree/memory.ts `TreeSource`): files from an `<input type=file>` (with
 * or without `webkitdirectory`), from a drop (DataTransferItem.webkitGetAsEntry), or from a
 * FileSystemDirectoryHandle (showDirectoryPicker). Each file's bytes are read with
 * `Blob.arrayBuffer()` into FileContent `bytes`: the writers already handle them, and extent
 * reading needs no file system. The DOM types are declared structurally here, so the library
 * type-checks without lib.dom.
 */
import type { MemoryEntry } from '../tree/memory.js';

/** A browser File: a Blob with a name, a time and (from a folder picker) a relative path. */
export interface WebFile extends Blob {
  readonly name: string;
  readonly lastModified: number;
  readonly webkitRelativePath?: string;
}

async function entryOf(path: string, file: WebFile): Promise<MemoryEntry> {
  return { path, data: new Uint8Array(await file.arrayBuffer()), mtime: Math.floor(file.lastModified / 1000) };
}

/**
 * Files from an input element. A folder picker names each file `<folder>/<path>`: the folder
 * itself is the root of the image, so its name is dropped when every file shares it.
 *
 * @example
 * const tree = await memoryTree(filesFromList(input.files), { epoch });
 */
export async function* filesFromList(files: ArrayLike<WebFile>): AsyncGenerator<MemoryEntry> {
  const list = Array.from(files);
  const paths = list.map((f) => f.webkitRelativePath || f.name);
  const first = paths[0]?.split('/')[0];
  const common = first !== undefined && paths.every((p) => p.includes('/') && p.split('/')[0] === first);
  for (let i = 0; i < list.length; i++) yield await entryOf(common ? paths[i]!.slice(first!.length + 1) : paths[i]!, list[i]!);
}

/** The entry API of a drop (FileSystemEntry and its two kinds). */
export interface DropEntry {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
  file?(ok: (f: WebFile) => void, fail: (e: unknown) => void): void;
  createReader?(): { readEntries(ok: (entries: DropEntry[]) => void, fail: (e: unknown) => void): void };
}

/**
 * Files and folders dropped on the page (`item.webkitGetAsEntry()` of each DataTransferItem).
 * A dropped folder keeps its name: dropping `site/` gives `/site/…` in the image.
 */
export async function* filesFromDrop(entries: readonly DropEntry[], base = ''): AsyncGenerator<MemoryEntry> {
  for (const e of entries) {
    const path = base + e.name;
    if (e.isFile && e.file) {
      const file = await new Promise<WebFile>((ok, fail) => e.file!(ok, fail));
      yield await entryOf(path, file);
    } else if (e.isDirectory && e.createReader) {
      yield { path, kind: 'dir' };
      const reader = e.createReader();
      // readEntries returns the entries in batches (Chromium: 100), until an empty batch.
      for (;;) {
        const batch = await new Promise<DropEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) break;
        yield* filesFromDrop(batch, path + '/');
      }
    }
  }
}

/** A FileSystemDirectoryHandle (showDirectoryPicker), as far as reading goes. */
export interface DirectoryHandle {
  readonly kind: 'directory';
  readonly name: string;
  values(): AsyncIterable<DirectoryHandle | { readonly kind: 'file'; readonly name: string; getFile(): Promise<WebFile> }>;
}

/** Every file under a directory handle; the handle's directory is the image's root. */
export async function* filesFromDirectory(dir: DirectoryHandle, base = ''): AsyncGenerator<MemoryEntry> {
  for await (const h of dir.values()) {
    const path = base + h.name;
    if (h.kind === 'file') yield await entryOf(path, await h.getFile());
    else { yield { path, kind: 'dir' }; yield* filesFromDirectory(h, path + '/'); }
  }
}

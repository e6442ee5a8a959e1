import { loadAllYaml } from '@kubernetes/client-node';

/** A Kubernetes object as read from a manifest file: typed by the client's deserializer, checked for identity. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Why (part of) a manifest file could not be read. `object` is `Kind ns/name` when the object is known. */
export interface ManifestProblem {
  file: string;
  object?: string;
  message: string;
}

/** The objects of one file, or the problems that make the whole file unusable (then `objects` is empty). */
export interface ParsedFile {
  objects: ManifestObject[];
  problems: ManifestProblem[];
}

const extensions = /\.(ya?ml|json)$/i;

/** True for the file names a manifest folder serves: *.yaml, *.yml, *.json (dot-files skipped). */
export function isManifestFile(name: string): boolean {
  return extensions.test(name) && !name.startsWith('.');
}

/**
 * Parses one file's text: multi-document YAML (or JSON), `kind: List` expanded, namespace defaulted to
 * `default` like the API server does. Never throws; any problem fails the whole file so that callers can
 * keep the file's last good objects instead of serving half of it.
 */
export function parseManifestText(file: string, text: string): ParsedFile {
  const problems: ManifestProblem[] = [];
  const raw: unknown[] = [];
  if (/\.json$/i.test(file)) {
    try {
      JSON.parse(text);
      // JSON is YAML: the same deserializer types the object as in cluster mode.
      raw.push(...loadAllYaml(text));
    } catch (err) {
      problems.push({ file, message: `invalid JSON: ${(err as Error).message}` });
    }
  } else {
    for (const doc of splitYamlDocuments(text)) {
      try {
        raw.push(...loadAllYaml(doc.text));
      } catch (err) {
        problems.push({
          file,
          message: `invalid YAML in document ${doc.index}: ${yamlReason(err, doc.line)}`,
        });
      }
    }
  }
  const objects: ManifestObject[] = [];
  let items: unknown[] = [];
  try {
    items = raw.flatMap((r) => expandList(r));
  } catch (err) {
    problems.push({ file, message: `invalid List item: ${firstLine(err)}` });
  }
  for (const item of items) {
    const checked = checkObject(file, item);
    if (checked.problem) problems.push(checked.problem);
    else objects.push(checked.object);
  }
  return problems.length > 0 ? { objects: [], problems } : { objects, problems };
}

/**
 * `loadAllYaml` throws on an empty document (a trailing `---` is common), so documents are split first and
 * the empty ones dropped. A `---` at column 0 always starts a document (YAML 1.2, 9.1.4).
 */
function splitYamlDocuments(text: string): { text: string; index: number; line: number }[] {
  const docs: { text: string; index: number; line: number }[] = [];
  let current: string[] = [];
  let startLine = 1;
  let index = 0;
  const flush = () => {
    index += 1;
    const body = current.join('\n');
    const meaningful = current.some(
      (l) => l.trim() !== '' && !l.trimStart().startsWith('#') && l.trim() !== '...',
    );
    if (meaningful) docs.push({ text: body, index, line: startLine });
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (/^---(\s|$)/.test(line)) {
      if (i > 0 || current.length > 0) flush();
      current = [line.slice(3)];
      startLine = i + 1;
    } else {
      current.push(line);
    }
  });
  flush();
  return docs;
}

function expandList(item: unknown): unknown[] {
  if (isRecord(item) && item.kind === 'List' && Array.isArray(item.items)) {
    // The deserializer leaves a List's items untyped; type them like top-level objects (JSON is YAML).
    return item.items.map((i) => (isRecord(i) ? (loadAllYaml(JSON.stringify(i))[0] ?? i) : i));
  }
  return [item];
}

type Checked = { object: ManifestObject; problem?: undefined } | { problem: ManifestProblem };

function checkObject(file: string, item: unknown): Checked {
  if (!isRecord(item))
    return { problem: { file, message: 'a document is not a Kubernetes object (expected a mapping)' } };
  const { apiVersion, kind, metadata } = item;
  if (typeof kind !== 'string' || kind === '') return { problem: { file, message: 'an object has no kind' } };
  const name = isRecord(metadata) ? metadata.name : undefined;
  if (typeof name !== 'string' || name === '')
    return { problem: { file, object: kind, message: 'metadata.name is missing' } };
  const namespace =
    isRecord(metadata) && typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  const id = `${kind} ${namespace}/${name}`;
  if (typeof apiVersion !== 'string' || apiVersion === '')
    return { problem: { file, object: id, message: 'apiVersion is missing' } };
  const meta = { ...(metadata as Record<string, unknown>), name, namespace };
  return { object: { ...item, apiVersion, kind, metadata: meta } as ManifestObject };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** js-yaml's reason with its line made absolute (the parser saw one document, which starts at `startLine`). */
function yamlReason(err: unknown, startLine: number): string {
  const e = err as { reason?: unknown; mark?: { line?: unknown; column?: unknown } };
  if (typeof e.reason === 'string' && typeof e.mark?.line === 'number' && typeof e.mark.column === 'number') {
    return `line ${startLine + e.mark.line}, column ${e.mark.column + 1}: ${e.reason}`;
  }
  return `${firstLine(err)} (document starts at line ${startLine})`;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

// No import circle anywhere in src/: a module that needs what needs it reads as one concern
// split in two files, and its initialisation order depends on who is imported first.
// Every src/**/*.ts file is read with TypeScript's own pre-processor (imports, `export … from`,
// `require`, `import()`), relative specifiers are resolved to files, and a cycle fails the
// test naming every file on it.
//
// Type-only imports (`import type`) count too. They vanish from the JavaScript, so they cannot
// break initialisation, but they are still a dependency of one concern on another: a command
// that needs a service's types and a service that needs the command's is the same knot, and
// the layering rule (commands depend on services, never the other way round) is about that.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '..', '..', '..');
const srcDir = path.join(root, 'src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** A relative specifier as the compiler resolves it (file.ts, then dir/index.ts); null for packages. */
function resolve(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  // A JSON or a file outside src/ (package.json): not part of the module graph we check.
  return null;
}

/** file → the src files it imports. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    // readImportFiles and detectJavaScriptImports: static imports (type-only too), re-exports,
    // require() and import() calls.
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = new Set<string>();
    for (const imported of info.importedFiles) {
      const target = resolve(file, imported.fileName);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

/**
 * Every knot of the graph (a strongly connected component of two or more files, or a file that
 * imports itself): one loop through it as a path a → … → a, and all the files it holds.
 */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): Array<{ loop: string[]; files: string[] }> {
  // Tarjan's strongly connected components, iterative over the graph's size, then one
  // concrete loop through each component so the message names a path a reader can follow.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfImport = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfImport) components.push(component);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components.map((component) => ({ loop: loopThrough(graph, new Set(component)), files: [...component].sort() }));
}

/** A shortest loop from the component's first file back to itself, inside the component. */
function loopThrough(graph: ReadonlyMap<string, readonly string[]>, component: ReadonlySet<string>): string[] {
  const start = [...component].sort()[0];
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!component.has(next)) continue;
      if (next === start) {
        const loop = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at)) loop.unshift(at);
        loop.unshift(start);
        return loop;
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

describe('import graph of src/', () => {
  it('finds a cycle when there is one (the check itself can fail)', () => {
    const graph = new Map<string, string[]>([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    const cycles = findCycles(graph).map(({ loop }) => loop.join(' → '));
    assert.deepEqual(cycles.sort(), ['a → b → c → a', 'e → e']);
    // Two loops through one file are one knot, named with all its files.
    const knot = findCycles(new Map([['a', ['b', 'c']], ['b', ['a']], ['c', ['a']]]));
    assert.equal(knot.length, 1);
    assert.deepEqual(knot[0].files, ['a', 'b', 'c']);
    assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', []]])), []);
  });

  it('reads every file of src/ and the imports it makes', () => {
    const graph = importGraph(sourceFiles(srcDir));
    assert.ok(graph.size > 40, `${graph.size} files under src/`);
    // A known edge of each kind the reader must see: a value import and a type-only one.
    const edges = (from: string) => (graph.get(path.join(srcDir, from)) ?? []).map((f) => path.relative(srcDir, f));
    assert.ok(edges('core/session.ts').includes(path.join('core', 'model.ts')), 'session imports the model');
    assert.ok(edges('core/renderTree.ts').includes(path.join('core', 'model.ts')), 'a type-only import is an edge');
  });

  it('has no import circle', () => {
    const graph = importGraph(sourceFiles(srcDir));
    const name = (file: string) => path.relative(root, file);
    const cycles = findCycles(graph).map(({ loop, files }) =>
      `${loop.map(name).join(' → ')}${files.length > loop.length - 1 ? ` (one knot of ${files.length} files: ${files.map(name).join(', ')})` : ''}`,
    );
    assert.deepEqual(cycles, [], `import circles in src/:\n  ${cycles.join('\n  ')}`);
  });
});

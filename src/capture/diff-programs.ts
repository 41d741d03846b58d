import {
  type Change,
  type Detail,
  diffKeyed,
  diffMembers,
  setDetail,
  valueDetail,
} from './diff-model.js';
import type {
  CopyAsIsSection,
  LibrariesSection,
  ProgramRecord,
  ProgramsSection,
} from './manifest.js';

/**
 * Programs, libraries and copy-as-is paths compared between two captures.
 *
 * The back references (a library's `neededBy`, who requested a module) are left out on purpose:
 * they are the forward references (a program's `libraries`) seen from the other side, so a new
 * program would otherwise mark libc and every other library it shares as changed.
 */

/** A program either found or missing; a program moving between the two is one change. */
type ProgramState =
  | { found: ProgramRecord; name: string }
  | { missing: { name: string; required: boolean }; name: string };

function programStates(section: ProgramsSection): ProgramState[] {
  return [
    ...section.found.map((found): ProgramState => ({ found, name: found.name })),
    ...section.missing.map((missing): ProgramState => ({ missing, name: missing.name })),
  ];
}

function requirement(required: boolean): string {
  return required ? 'required' : 'optional';
}

function requiredOf(state: ProgramState): boolean {
  return 'found' in state ? state.found.required : state.missing.required;
}

function status(state: ProgramState): string {
  return 'found' in state ? `found at ${state.found.path}` : 'missing';
}

export function diffPrograms(a: ProgramsSection, b: ProgramsSection): Change[] {
  return diffKeyed(programStates(a), programStates(b), {
    item: 'program',
    key: (state) => state.name,
    note: (state) =>
      'found' in state
        ? `${state.found.path}, ${requirement(state.found.required)}`
        : `missing, ${requirement(state.missing.required)}`,
    compare: (from, to): Detail[] => {
      if ('found' in from && 'found' in to) return compareFound(from.found, to.found);
      return [
        ...valueDetail('', status(from), status(to)),
        ...valueDetail('required', requiredOf(from), requiredOf(to)),
      ];
    },
  });
}

function compareFound(from: ProgramRecord, to: ProgramRecord): Detail[] {
  return [
    ...valueDetail('path', from.path, to.path),
    ...valueDetail('realPath', from.realPath, to.realPath),
    ...valueDetail('kind', from.kind, to.kind),
    ...valueDetail('interpreter', from.interpreter, to.interpreter),
    ...setDetail('libraries', from.libraries, to.libraries),
    ...valueDetail('required', from.required, to.required),
  ];
}

export function diffLibraries(a: LibrariesSection, b: LibrariesSection): Change[] {
  return [
    ...diffKeyed(a.resolved, b.resolved, {
      item: 'library',
      key: (library) => library.path,
      note: (library) => {
        const parts = library.realPath === library.path ? [] : [`real path ${library.realPath}`];
        if (library.extra) parts.push('dlopen list');
        return parts.length === 0 ? undefined : parts.join(', ');
      },
      compare: (from, to) => [
        ...valueDetail('realPath', from.realPath, to.realPath),
        ...valueDetail('soname', from.soname, to.soname),
        ...valueDetail('extra', from.extra, to.extra),
      ],
    }),
    // Unresolved ones are keyed by the name asked for: they have no path.
    ...diffKeyed(a.unresolved, b.unresolved, {
      item: 'library',
      key: (library) => library.name,
      subject: (name) => `unresolved ${name}`,
      note: (library) => `needed by ${library.neededBy.join(', ')}`,
      compare: () => [],
    }),
    ...diffMembers(
      a.extrasNotFound,
      b.extrasNotFound,
      'library',
      (pattern) => `dlopen ${pattern}, no match`,
    ),
  ];
}

export function diffCopyAsIs(a: CopyAsIsSection, b: CopyAsIsSection): Change[] {
  return [
    ...diffMembers(a.include, b.include, 'copy-as-is path', (path) => `include ${path}`),
    ...diffMembers(a.exclude, b.exclude, 'copy-as-is path', (path) => `exclude ${path}`),
    ...diffMembers(a.missing, b.missing, 'copy-as-is path', (path) => `missing ${path}`),
  ];
}

import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildElf } from '../../test/support/elf-builder.js';
import {
  DF_1,
  ElfError,
  EM,
  isElf,
  machineName,
  parseElf,
  parseExecutable,
  readExecutableFile,
  readSection,
} from './elf.js';

describe('parseElf', () => {
  it('reads the dynamic section of an ELF64 little-endian library', () => {
    const info = parseElf(
      buildElf({
        needed: ['libc.so.6', 'libm.so.6'],
        soname: 'libfoo.so.1',
        rpath: '/opt/r',
        runpath: '$ORIGIN/../lib:/usr/lib/foo',
        flags1: DF_1.NODEFLIB | DF_1.NOW,
      }),
    );
    expect(info).toEqual({
      kind: 'elf',
      elfClass: 64,
      endian: 'little',
      osAbi: 0,
      type: 'dyn',
      machine: EM.X86_64,
      interpreter: undefined,
      isDynamic: true,
      needed: ['libc.so.6', 'libm.so.6'],
      soname: 'libfoo.so.1',
      rpath: '/opt/r',
      runpath: '$ORIGIN/../lib:/usr/lib/foo',
      flags: 0,
      flags1: DF_1.NODEFLIB | DF_1.NOW,
    });
  });

  it('reads ELF32 big-endian executables with an interpreter', () => {
    const info = parseElf(
      buildElf({
        elfClass: 32,
        endian: 'big',
        machine: EM.PPC,
        type: 2,
        interpreter: '/lib/ld.so.1',
        needed: ['libc.so.6'],
      }),
    );
    expect(info).toMatchObject({
      elfClass: 32,
      endian: 'big',
      machine: EM.PPC,
      type: 'exec',
      interpreter: '/lib/ld.so.1',
      needed: ['libc.so.6'],
      soname: undefined,
    });
  });

  it('reads ELF32 little-endian (i386) and ELF64 big-endian (s390x) alike', () => {
    expect(
      parseElf(buildElf({ elfClass: 32, machine: EM.I386, soname: 'libx.so.1' })),
    ).toMatchObject({
      elfClass: 32,
      endian: 'little',
      machine: EM.I386,
      soname: 'libx.so.1',
    });
    expect(
      parseElf(buildElf({ endian: 'big', machine: EM.S390, needed: ['a', 'b'] })),
    ).toMatchObject({
      elfClass: 64,
      endian: 'big',
      needed: ['a', 'b'],
    });
  });

  it('needs no section headers (stripped files)', () => {
    const buf = buildElf({ needed: ['libc.so.6'] });
    expect(parseElf(buf).needed).toEqual(['libc.so.6']);
    expect(readSection(buf, '.dynstr')).toBeUndefined();
  });

  it('reports a static executable as not dynamic', () => {
    const info = parseElf(buildElf({ type: 2 }));
    expect(info).toMatchObject({
      isDynamic: false,
      needed: [],
      interpreter: undefined,
      type: 'exec',
    });
  });

  it('names machines for messages', () => {
    expect(machineName(EM.X86_64)).toBe('x86-64');
    expect(machineName(4242)).toBe('machine 4242');
  });
});

describe('parseExecutable: scripts', () => {
  const script = (text: string) => parseExecutable(Buffer.from(text, 'utf8'));

  it('returns the #! interpreter and its one optional argument', () => {
    expect(script('#!/bin/sh -e\necho hi\n')).toEqual({
      kind: 'script',
      interpreter: '/bin/sh',
      argument: '-e',
    });
    expect(script('#! /usr/bin/env  python3 -u  \n')).toEqual({
      kind: 'script',
      interpreter: '/usr/bin/env',
      argument: 'python3 -u',
    });
    expect(script('#!/bin/bash')).toEqual({
      kind: 'script',
      interpreter: '/bin/bash',
      argument: undefined,
    });
  });

  it('rejects a #! line without interpreter, or one cut off by the kernel limit', () => {
    expect(() => script('#!\n')).toThrow(ElfError);
    expect(() => script(`#!/${'x'.repeat(300)}`)).toThrow(/longer than 256/);
  });

  it('tells ELF from the rest', () => {
    expect(isElf(buildElf())).toBe(true);
    expect(isElf(Buffer.from('#!/bin/sh'))).toBe(false);
    expect(parseExecutable(buildElf({ needed: ['x'] })).kind).toBe('elf');
  });
});

describe('ElfError on damaged input', () => {
  const reasonOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (error) {
      if (error instanceof ElfError) return error.reason;
      throw error;
    }
  };

  it('says what is wrong', () => {
    expect(reasonOf(() => parseElf(Buffer.from('hello world')))).toBe('not-elf');
    expect(reasonOf(() => parseElf(Buffer.alloc(0)))).toBe('not-elf');
    expect(reasonOf(() => parseElf(buildElf().subarray(0, 20)))).toBe('truncated');
    const badClass = buildElf();
    badClass[4] = 3;
    expect(reasonOf(() => parseElf(badClass))).toBe('invalid');
    // A DT_NEEDED whose string lies outside the string table.
    const badString = buildElf({ needed: ['libc.so.6'] });
    const dynstr = badString.indexOf('libc.so.6');
    const needed = findDynamicValue(badString, 1);
    badString.writeBigUInt64LE(BigInt(0xffff), needed);
    expect(dynstr).toBeGreaterThan(0);
    expect(reasonOf(() => parseElf(badString))).toBe('invalid');
  });

  it('rejects a DT_STRTAB address that no PT_LOAD maps', () => {
    const buf = buildElf({ needed: ['libc.so.6'] });
    buf.writeBigUInt64LE(BigInt(0x7000_0000), findDynamicValue(buf, 5));
    expect(() => parseElf(buf)).toThrow(/no loaded segment/);
  });

  it('never fails with anything but ElfError: truncations, bit flips and random bytes', () => {
    const samples = [
      buildElf({ needed: ['libc.so.6', 'libz.so.1'], soname: 'libq.so', runpath: '$ORIGIN' }),
      buildElf({ elfClass: 32, endian: 'big', interpreter: '/lib/ld.so.1', needed: ['libc.so.6'] }),
      buildElf({ sections: [{ name: '.modinfo', data: Buffer.from('license=GPL\0') }] }),
    ];
    const random = seededRandom(42);
    const inputs: Buffer[] = [];
    for (const sample of samples) {
      for (let length = 0; length < sample.length; length++)
        inputs.push(sample.subarray(0, length));
      for (let i = 0; i < 300; i++) {
        const mutated = Buffer.from(sample);
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
          mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        }
        inputs.push(mutated);
      }
    }
    for (let i = 0; i < 300; i++) {
      const junk = Buffer.alloc(Math.floor(random() * 200));
      for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(random() * 256);
      if (i % 2 === 0 && junk.length >= 6)
        Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1 + (i % 4 === 0 ? 1 : 0), 1]).copy(junk);
      inputs.push(junk);
    }
    for (const input of inputs) {
      for (const parse of [() => parseExecutable(input), () => readSection(input, '.modinfo')]) {
        try {
          parse();
        } catch (error) {
          expect(error, `input ${input.toString('hex').slice(0, 80)}`).toBeInstanceOf(ElfError);
        }
      }
    }
  });
});

describe('readSection', () => {
  it('finds a section by name through the section headers', () => {
    const modinfo = Buffer.from('license=GPL\0alias=pci:v00008086d*\0depends=\0');
    for (const elfClass of [32, 64] as const) {
      const buf = buildElf({
        elfClass,
        sections: [
          { name: '.text', data: Buffer.from([0x90, 0x90]) },
          { name: '.modinfo', data: modinfo },
          { name: '.bss', data: Buffer.alloc(64), nobits: true },
        ],
      });
      expect(readSection(buf, '.modinfo')).toEqual(modinfo);
      expect(readSection(buf, '.bss')).toEqual(Buffer.alloc(0));
      expect(readSection(buf, '.nothere')).toBeUndefined();
    }
  });

  it('throws ElfError for a file that is not ELF', () => {
    expect(() => readSection(Buffer.from('\x1f\x8b compressed module'), '.modinfo')).toThrow(
      ElfError,
    );
  });
});

const readelfMissing = existsSync('/usr/bin/readelf') ? undefined : 'readelf is not installed';

describe.skipIf(readelfMissing !== undefined)(
  'readExecutableFile on this machine, vs readelf',
  () => {
    const files = ['/usr/bin/ls', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/gcc'].filter(
      existsSync,
    );

    it.each(files)('%s', async (file) => {
      const { stdout } = await execa('readelf', ['-dlW', file]);
      const info = readExecutableFile(file);
      expect(info.kind).toBe('elf');
      if (info.kind !== 'elf') return;
      const values = (tag: string) =>
        [...stdout.matchAll(new RegExp(`\\(${tag}\\)\\s+.*?\\[(.*)\\]`, 'g'))].map((m) => m[1]);
      expect(info.needed).toEqual(values('NEEDED'));
      expect(info.soname).toEqual(values('SONAME')[0]);
      expect(info.runpath).toEqual(values('RUNPATH')[0]);
      expect(info.interpreter).toEqual(/Requesting program interpreter: (.*)\]/.exec(stdout)?.[1]);
    });

    it('reads a script from disk', () => {
      const info = readExecutableFile('/usr/bin/ldd');
      expect(info).toMatchObject({ kind: 'script', interpreter: '/bin/bash' });
    });
  },
);

/** File offset of the value of the first dynamic entry with `tag` in a builder-made ELF64 LE. */
function findDynamicValue(buf: Buffer, tag: number): number {
  const phoff = Number(buf.readBigUInt64LE(32));
  const phnum = buf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * 56;
    if (buf.readUInt32LE(at) !== 2) continue;
    const offset = Number(buf.readBigUInt64LE(at + 8));
    for (let entry = offset; ; entry += 16) {
      const entryTag = Number(buf.readBigUInt64LE(entry));
      if (entryTag === tag) return entry + 8;
      if (entryTag === 0) break;
    }
  }
  throw new Error(`no dynamic tag ${tag}`);
}

/** A small deterministic PRNG (mulberry32), so a failing fuzz input can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

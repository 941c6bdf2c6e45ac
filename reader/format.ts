/**
 * Parsers for the tracefs format descriptions:
 *   events/header_page            layout of a ring-buffer data page header
 *   events/header_event           the compressed 32-bit event header
 *   events/<system>/<event>/format the fields of one event type
 *
 * Pure functions of the file text, so host tests can feed them recorded files.
 */

/** One `field:<decl>;\toffset:N;\tsize:N;\tsigned:N;` line. */
export interface FieldFormat {
  /** The field name without any array suffix ("buf" for "char buf[]"). */
  readonly name: string;
  /** The C type as printed, without the name and array suffix ("unsigned long", "char"). */
  readonly type: string;
  readonly offset: number;
  /** Bytes the field occupies in the record (0 for a flexible array). */
  readonly size: number;
  readonly signed: boolean;
  /**
   * How the field is stored:
   *  'scalar'    a plain value of `size` bytes
   *  'array'     `arrayLength` elements inline (a flexible array has arrayLength null:
   *              it runs to the end of the record)
   *  'data_loc'  a u32 at `offset`: low 16 bits = offset from the record start,
   *              high 16 bits = length in bytes (__data_loc)
   *  'rel_loc'   same, but the offset is relative to the end of this u32 (__rel_loc)
   */
  readonly storage: 'scalar' | 'array' | 'data_loc' | 'rel_loc';
  /** Element count for inline arrays; null for flexible arrays and non-arrays. */
  readonly arrayLength: number | null;
  /** Bytes per element for arrays and dynamic arrays; equals size for scalars. */
  readonly elementSize: number;
  /** A (signed/unsigned/const) char array: decoded as a NUL-terminated string. */
  readonly isChar: boolean;
}

export interface EventFormat {
  readonly name: string;
  readonly id: number;
  /** Fields before the blank separator line: common_type, common_flags, ... */
  readonly commonFields: readonly FieldFormat[];
  /** The event's own fields. */
  readonly fields: readonly FieldFormat[];
  readonly printFormat: string;
}

/** Where the page header fields sit, from events/header_page. */
export interface PageHeaderLayout {
  readonly timestampOffset: number;
  readonly timestampSize: number;
  readonly commitOffset: number;
  /** sizeof(local_t): 8 on 64-bit kernels, 4 on 32-bit ones. */
  readonly commitSize: number;
  /** Offset of the first event (end of the page header). */
  readonly dataOffset: number;
  /** Bytes of event data a page can hold (BUF_PAGE_SIZE). */
  readonly dataCapacity: number;
}

/** The compressed event header, from events/header_event. */
export interface EventHeaderLayout {
  readonly typeLenBits: number;
  readonly timeDeltaBits: number;
  readonly paddingType: number;
  readonly timeExtendType: number;
  readonly timeStampType: number;
  /** Largest type_len that encodes a data length (length = type_len * 4). */
  readonly dataMaxTypeLen: number;
}

const FIELD_LINE = /^\s*field:\s*(.+?);\s*offset:\s*(\d+);\s*size:\s*(\d+);\s*signed:\s*(\d+);?\s*$/;

interface RawField {
  declaration: string;
  offset: number;
  size: number;
  signed: boolean;
}

function parseFieldLine(line: string): RawField | null {
  const match = FIELD_LINE.exec(line);
  if (match === null) return null;
  const [, declaration, offset, size, signed] = match;
  if (declaration === undefined || offset === undefined || size === undefined || signed === undefined) return null;
  return { declaration: declaration.trim(), offset: Number(offset), size: Number(size), signed: signed !== '0' };
}

/** sizeof() of the C scalar types that appear in trace event formats (64-bit kernel). */
export function scalarTypeSize(type: string, longSize = 8): number | null {
  const normalised = type
    .replace(/\b(const|volatile|unsigned|signed|struct|enum)\b/g, (word) => (word === 'unsigned' || word === 'signed' ? word : ''))
    .replace(/\s+/g, ' ')
    .trim();
  if (normalised.endsWith('*')) return longSize;
  const base = normalised.replace(/^(unsigned|signed) ?/, '').trim();
  switch (base) {
    case 'char':
    case 'bool':
    case '_Bool':
    case 'u8':
    case 's8':
    case '__u8':
    case '__s8':
    case 'int8_t':
    case 'uint8_t':
      return 1;
    case 'short':
    case 'short int':
    case 'u16':
    case 's16':
    case '__u16':
    case '__s16':
    case '__le16':
    case '__be16':
      return 2;
    case '':
    case 'int':
    case 'u32':
    case 's32':
    case '__u32':
    case '__s32':
    case '__le32':
    case '__be32':
    case 'pid_t':
    case 'gfp_t':
      return 4;
    case 'long':
    case 'long int':
    case 'size_t':
    case 'ssize_t':
      return longSize;
    case 'long long':
    case 'long long int':
    case 'u64':
    case 's64':
    case '__u64':
    case '__s64':
    case '__le64':
    case '__be64':
    case 'loff_t':
      return 8;
    default:
      return null;
  }
}

/** True for char, signed char, unsigned char, const char (the element type of a string). */
export function isCharType(type: string): boolean {
  return /^(unsigned |signed )?char$/.test(type.replace(/\bconst\b/g, '').replace(/\s+/g, ' ').trim());
}

/** Turn a field declaration ("unsigned long caller[8]", "__data_loc char[] name") into a FieldFormat. */
export function describeField(raw: RawField): FieldFormat {
  const { declaration, offset, size, signed } = raw;
  const loc = /^__(data|rel)_loc\s+(.+?)\s*(\[\d*\])?\s+([A-Za-z_][A-Za-z0-9_]*)$/.exec(declaration);
  if (loc !== null) {
    const [, kind, elementType, , name] = loc;
    if (kind === undefined || elementType === undefined || name === undefined) throw new Error(`bad field: ${declaration}`);
    return {
      name,
      type: elementType,
      offset,
      size,
      signed,
      storage: kind === 'data' ? 'data_loc' : 'rel_loc',
      arrayLength: null,
      elementSize: scalarTypeSize(elementType) ?? 1,
      isChar: isCharType(elementType),
    };
  }
  const array = /^(.+?)\s*\b([A-Za-z_][A-Za-z0-9_]*)\s*\[([^\]]*)\]$/.exec(declaration);
  if (array !== null) {
    const [, type, name, lengthText] = array;
    if (type === undefined || name === undefined || lengthText === undefined) throw new Error(`bad field: ${declaration}`);
    const declaredLength = /^\d+$/.test(lengthText) ? Number(lengthText) : null;
    const typeSize = scalarTypeSize(type);
    let elementSize: number;
    let arrayLength: number | null;
    if (declaredLength !== null && declaredLength > 0) {
      arrayLength = declaredLength;
      elementSize = size / declaredLength;
    } else if (size > 0 && typeSize !== null) {
      // A length given as a macro name: derive it from the size.
      elementSize = typeSize;
      arrayLength = size / typeSize;
    } else {
      elementSize = typeSize ?? 1;
      arrayLength = null;
    }
    if (!Number.isInteger(elementSize) || elementSize <= 0) elementSize = typeSize ?? 1;
    return { name, type: type.trim(), offset, size, signed, storage: 'array', arrayLength, elementSize, isChar: isCharType(type) };
  }
  const scalar = /^(.*?)\s*\b([A-Za-z_][A-Za-z0-9_]*)$/.exec(declaration);
  if (scalar === null || scalar[1] === undefined || scalar[2] === undefined) throw new Error(`bad field: ${declaration}`);
  return {
    name: scalar[2],
    type: scalar[1].trim(),
    offset,
    size,
    signed,
    storage: 'scalar',
    arrayLength: null,
    elementSize: size,
    isChar: false,
  };
}

/** Parse events/<system>/<event>/format. */
export function parseEventFormat(text: string): EventFormat {
  const lines = text.split('\n');
  let name: string | null = null;
  let id: number | null = null;
  let printFormat = '';
  const commonFields: FieldFormat[] = [];
  const fields: FieldFormat[] = [];
  let inFormat = false;
  let afterSeparator = false;
  for (const line of lines) {
    if (line.startsWith('name:')) {
      name = line.slice('name:'.length).trim();
    } else if (line.startsWith('ID:')) {
      id = Number(line.slice('ID:'.length).trim());
    } else if (line.startsWith('format:')) {
      inFormat = true;
    } else if (line.startsWith('print fmt:')) {
      printFormat = line.slice('print fmt:'.length).trim();
      inFormat = false;
    } else if (inFormat) {
      if (line.trim() === '') {
        if (commonFields.length > 0) afterSeparator = true;
        continue;
      }
      const raw = parseFieldLine(line);
      if (raw === null) throw new Error(`unparsable format line: ${JSON.stringify(line)}`);
      (afterSeparator ? fields : commonFields).push(describeField(raw));
    }
  }
  if (name === null) throw new Error('format has no "name:" line');
  if (id === null || !Number.isInteger(id)) throw new Error(`format of ${name} has no valid "ID:" line`);
  return { name, id, commonFields, fields, printFormat };
}

/** Parse events/header_page. */
export function parseHeaderPage(text: string): PageHeaderLayout {
  const byName = new Map<string, RawField>();
  for (const line of text.split('\n')) {
    const raw = parseFieldLine(line);
    if (raw === null) continue;
    const name = describeField(raw).name;
    // "int overwrite" shares the commit word; keep the first definition of each name.
    if (!byName.has(name)) byName.set(name, raw);
  }
  const timestamp = byName.get('timestamp');
  const commit = byName.get('commit');
  const data = byName.get('data');
  if (timestamp === undefined || commit === undefined || data === undefined) {
    throw new Error('header_page lacks one of timestamp, commit, data');
  }
  if (timestamp.size !== 8) throw new Error(`header_page timestamp is ${timestamp.size} bytes, expected 8`);
  if (commit.size !== 4 && commit.size !== 8) throw new Error(`header_page commit is ${commit.size} bytes`);
  return {
    timestampOffset: timestamp.offset,
    timestampSize: timestamp.size,
    commitOffset: commit.offset,
    commitSize: commit.size,
    dataOffset: data.offset,
    dataCapacity: data.size,
  };
}

/** Parse events/header_event. */
export function parseHeaderEvent(text: string): EventHeaderLayout {
  const bits = (name: string): number => {
    const match = new RegExp(`^\\s*${name}\\s*:\\s*(\\d+) bits`, 'm').exec(text);
    if (match === null || match[1] === undefined) throw new Error(`header_event lacks "${name}"`);
    return Number(match[1]);
  };
  const typeValue = (label: RegExp): number => {
    const match = label.exec(text);
    if (match === null || match[1] === undefined) throw new Error(`header_event lacks ${label.source}`);
    return Number(match[1]);
  };
  const layout: EventHeaderLayout = {
    typeLenBits: bits('type_len'),
    timeDeltaBits: bits('time_delta'),
    paddingType: typeValue(/^\s*padding\s*:\s*type == (\d+)/m),
    timeExtendType: typeValue(/^\s*time_extend\s*:\s*type == (\d+)/m),
    timeStampType: typeValue(/^\s*time_stamp\s*:\s*type == (\d+)/m),
    dataMaxTypeLen: typeValue(/^\s*data max type_len\s*==\s*(\d+)/m),
  };
  if (layout.typeLenBits + layout.timeDeltaBits !== 32) {
    throw new Error(`header_event bits do not add up to 32: ${layout.typeLenBits} + ${layout.timeDeltaBits}`);
  }
  return layout;
}

/** The layouts of a 64-bit little-endian 6.x kernel, for tests that build pages by hand. */
export const STANDARD_PAGE_HEADER: PageHeaderLayout = {
  timestampOffset: 0,
  timestampSize: 8,
  commitOffset: 8,
  commitSize: 8,
  dataOffset: 16,
  dataCapacity: 4080,
};

export const STANDARD_EVENT_HEADER: EventHeaderLayout = {
  typeLenBits: 5,
  timeDeltaBits: 27,
  paddingType: 29,
  timeExtendType: 30,
  timeStampType: 31,
  dataMaxTypeLen: 28,
};

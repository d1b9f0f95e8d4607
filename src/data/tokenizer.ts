/**
 * Char and word tokenizers with a vocabulary: id 0 is padding, id 1 is unknown, then tokens
 * by descending frequency (ties by code-point order, so a vocabulary is reproducible).
 * A vocabulary given with an imported model may keep its unknown token elsewhere, or have
 * none: then a token outside the vocabulary is an error, never some other token's id.
 */
import { checkChoice, checkInteger } from '../util/validate';
import { invalidType, outOfRange } from '../util/errors';

export const PAD_ID = 0;
export const UNKNOWN_ID = 1;

export interface TokenizerOptions {
  /** 'char' (Unicode code points) or 'word' (runs of letters and digits). */
  kind: 'char' | 'word';
  /** Lower-case text first. Default true for 'word', false for 'char'. */
  lowercase?: boolean;
  /** Drop tokens seen fewer times. Default 1. */
  minFrequency?: number;
  /** Largest vocabulary, padding and unknown included. Default unlimited. */
  maxSize?: number;
  /** Keep at most this many tokens of a text (the first ones). Default unlimited. */
  maxLength?: number;
}

export interface TokenizerJSON {
  kind: 'char' | 'word';
  lowercase: boolean;
  maxLength: number | null;
  vocabulary: string[];
  /** The id tokens outside the vocabulary get; null: none (they are refused). Default 1. */
  unknownId?: number | null;
}

/** Thrown by `encode` for a token outside a vocabulary that has no unknown token. */
export class UnknownTokenError extends RangeError {
  constructor(readonly token: string) {
    super(`token ${JSON.stringify(token)} is not in the model's vocabulary, which has no unknown token`);
    this.name = 'UnknownTokenError';
  }
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

export class Tokenizer {
  readonly kind: 'char' | 'word';
  readonly lowercase: boolean;
  readonly maxLength: number | null;
  /** Index = id. vocabulary[0] = '<pad>', vocabulary[1] = '<unk>'. */
  readonly vocabulary: readonly string[];
  /** The id of tokens outside the vocabulary (UNKNOWN_ID unless an import said otherwise); null: refused. */
  readonly unknownId: number | null;
  readonly #ids: Map<string, number>;
  // Char tokenizers look a code point up without making it a string: ASCII in a table
  // (-1: not in the vocabulary), the rest in a map.
  readonly #ascii = new Int32Array(128).fill(-1);
  readonly #codePoints = new Map<number, number>();

  private constructor(json: TokenizerJSON) {
    this.kind = json.kind;
    this.lowercase = json.lowercase;
    this.maxLength = json.maxLength;
    this.vocabulary = json.vocabulary;
    this.unknownId = json.unknownId === undefined ? UNKNOWN_ID : json.unknownId;
    this.#ids = new Map(json.vocabulary.map((t, i) => [t, i]));
    for (const [token, id] of this.#ids) {
      const c = token.codePointAt(0);
      if (c === undefined || token.length !== (c > 0xffff ? 2 : 1)) continue; // not one code point
      if (c < 128) this.#ascii[c] = id;
      else this.#codePoints.set(c, id);
    }
  }

  /** Number of ids (the model's `vocabSize`). */
  get size(): number {
    return this.vocabulary.length;
  }

  /** Builds the vocabulary from training texts. */
  static fit(texts: Iterable<string>, options: TokenizerOptions): Tokenizer {
    if (options === null || typeof options !== 'object') throw invalidType('options', 'tokenizer options', options);
    const kind = checkChoice('options.kind', options.kind, ['char', 'word'] as const);
    const lowercase = options.lowercase ?? kind === 'word';
    if (typeof lowercase !== 'boolean') throw invalidType('options.lowercase', 'a boolean', lowercase);
    const minFrequency = options.minFrequency === undefined ? 1 : checkInteger('options.minFrequency', options.minFrequency, 1, 2 ** 31);
    const maxSize = options.maxSize === undefined ? 2 ** 24 : checkInteger('options.maxSize', options.maxSize, 3, 2 ** 24);
    const maxLength = options.maxLength === undefined ? null : checkInteger('options.maxLength', options.maxLength, 1, 2 ** 24);
    const probe = new Tokenizer({ kind, lowercase, maxLength, vocabulary: ['<pad>', '<unk>'] });
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const token of probe.split(text)) counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    const kept = [...counts.entries()]
      .filter(([, n]) => n >= minFrequency)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxSize - 2)
      .map(([t]) => t);
    return new Tokenizer({ kind, lowercase, maxLength, vocabulary: ['<pad>', '<unk>', ...kept] });
  }

  /** Tokens of a text (before the vocabulary). */
  split(text: string): string[] {
    if (typeof text !== 'string') throw invalidType('text', 'a string', text);
    const t = this.lowercase ? text.toLowerCase() : text;
    const tokens = this.kind === 'char' ? Array.from(t) : (t.match(WORD) ?? []);
    return this.maxLength !== null && tokens.length > this.maxLength ? tokens.slice(0, this.maxLength) : tokens;
  }

  /** Ids of a text; tokens outside the vocabulary become `unknownId` (or, without one, an UnknownTokenError). */
  encode(text: string): Int32Array {
    const tokens = this.split(text);
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const id = this.#ids.get(tokens[i]) ?? this.unknownId;
      if (id === null) throw new UnknownTokenError(tokens[i]);
      out[i] = id;
    }
    return out;
  }

  /**
   * Writes the ids `encode(text)` gives into `into.ids` from `at` (replacing it with a larger
   * array when it is too short) and returns how many: a batch is encoded into one buffer,
   * without an array per text, or a string per character for char tokenizers.
   */
  encodeInto(text: string, into: { ids: Int32Array }, at: number): number {
    if (typeof text !== 'string') throw invalidType('text', 'a string', text);
    if (this.kind !== 'char') {
      const ids = this.encode(text);
      reserve(into, at + ids.length).set(ids, at);
      return ids.length;
    }
    const t = this.lowercase ? text.toLowerCase() : text;
    const limit = this.maxLength ?? t.length;
    const out = reserve(into, at + Math.min(t.length, limit)); // code points <= UTF-16 units
    let count = 0;
    for (let i = 0; i < t.length && count < limit; i++) {
      let c = t.charCodeAt(i);
      let id: number | undefined;
      if (c < 128) {
        id = this.#ascii[c];
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < t.length) {
          const low = t.charCodeAt(i + 1);
          if (low >= 0xdc00 && low <= 0xdfff) {
            c = (c - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000; // a surrogate pair is one code point
            i++;
          }
        }
        id = this.#codePoints.get(c);
      }
      if (id === undefined || id < 0) {
        if (this.unknownId === null) throw new UnknownTokenError(String.fromCodePoint(c));
        id = this.unknownId;
      }
      out[at + count++] = id;
    }
    return count;
  }

  toJSON(): TokenizerJSON {
    const json: TokenizerJSON = { kind: this.kind, lowercase: this.lowercase, maxLength: this.maxLength, vocabulary: [...this.vocabulary] };
    if (this.unknownId !== UNKNOWN_ID) json.unknownId = this.unknownId; // files without it read as before
    return json;
  }

  /** Restores a tokenizer saved with toJSON (e.g. from a model file); validates it. */
  static fromJSON(json: unknown): Tokenizer {
    const j = json as TokenizerJSON;
    if (!j || typeof j !== 'object') throw invalidType('tokenizer', 'a tokenizer JSON object', json);
    const kind = checkChoice('tokenizer.kind', j.kind, ['char', 'word'] as const);
    if (typeof j.lowercase !== 'boolean') throw invalidType('tokenizer.lowercase', 'a boolean', j.lowercase);
    if (j.maxLength !== null) checkInteger('tokenizer.maxLength', j.maxLength, 1, 2 ** 24);
    if (!Array.isArray(j.vocabulary) || j.vocabulary.length < 2 || j.vocabulary.some((t) => typeof t !== 'string'))
      throw invalidType('tokenizer.vocabulary', 'an array of strings starting with <pad>, <unk>', j.vocabulary);
    if (new Set(j.vocabulary).size !== j.vocabulary.length) throw outOfRange('tokenizer.vocabulary', 'distinct tokens', 'duplicates');
    const unknownId = j.unknownId === undefined ? UNKNOWN_ID : j.unknownId === null ? null : checkInteger('tokenizer.unknownId', j.unknownId, 0, j.vocabulary.length - 1);
    return new Tokenizer({ kind, lowercase: j.lowercase, maxLength: j.maxLength, vocabulary: j.vocabulary, unknownId });
  }
}

/** `into.ids`, replaced by a copy at least `size` long (doubling) when it is shorter. */
export function reserve(into: { ids: Int32Array }, size: number): Int32Array {
  if (into.ids.length < size) {
    const grown = new Int32Array(Math.max(size, 2 * into.ids.length));
    grown.set(into.ids);
    into.ids = grown;
  }
  return into.ids;
}

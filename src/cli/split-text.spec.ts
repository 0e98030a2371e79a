import { splitText } from './split-text';

describe('splitText', () => {
  const sentence = (i: number) => `Sentence number ${i} says something.`;

  it('keeps a text that fits as one trimmed part, and drops an empty one', () => {
    expect(splitText('  short text \n', 100)).toEqual(['short text']);
    expect(splitText(' \n\t ', 100)).toEqual([]);
  });

  it('never returns a part over the limit, and loses no words', () => {
    const text = Array.from({ length: 200 }, (_, i) => `${sentence(i)}${[' ', '\n', '\n\n'][i % 3]}`).join('');
    for (const max of [1, 7, 40, 99, 1000]) {
      const parts = splitText(text, max);
      expect(parts.every((part) => part.length <= max && part.length > 0)).toBe(true);
      expect(parts.join('').replace(/\s+/g, '')).toBe(text.replace(/\s+/g, ''));
    }
  });

  it('cuts at paragraph breaks first', () => {
    const first = 'Alpha beta gamma. Delta epsilon.';
    const second = 'Zeta eta theta. Iota kappa.';
    expect(splitText(`${first}\n\n${second}`, first.length + 10)).toEqual([first, second]);
  });

  it('then at line ends, then after sentences, then at spaces', () => {
    expect(splitText('one two three\nfour five six', 20)).toEqual(['one two three', 'four five six']);
    expect(splitText('First one here. Second one here.', 20)).toEqual(['First one here.', 'Second one here.']);
    expect(splitText('aaaa bbbb cccc dddd', 10)).toEqual(['aaaa bbbb', 'cccc dddd']);
  });

  it('prefers a weaker boundary late in the window to a strong one early, to keep parts large', () => {
    const text = `Tiny.\n\n${'word '.repeat(30).trim()}`;
    const parts = splitText(text, 60);
    expect(parts[0].startsWith('Tiny.\n\nword')).toBe(true);
    expect(parts[0].length).toBeGreaterThan(30);
  });

  it('cuts inside a word only when there is no boundary at all, never between surrogate halves', () => {
    expect(splitText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    const emoji = '😀'.repeat(5); // 10 code units
    const parts = splitText(emoji, 3);
    expect(parts.join('')).toBe(emoji);
    expect(parts.every((part) => !/[\ud800-\udbff]$/.test(part) && part.length <= 3)).toBe(true);
  });

  it('treats CRLF like LF', () => {
    expect(splitText('one two three\r\nfour five six', 20)).toEqual(['one two three', 'four five six']);
  });

  it('refuses a limit below 1', () => {
    expect(() => splitText('x', 0)).toThrow(RangeError);
  });
});

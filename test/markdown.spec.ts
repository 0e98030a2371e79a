import { anchors, codeBlocks, linkTargets } from './markdown';

describe('markdown helpers of the README test', () => {
  it('makes GitHub anchors: punctuation and backticks dropped, repeats numbered, fenced lines ignored', () => {
    const text = '# Title\n## Tests: `npm run test:docker`\n## Sizes\n## Sizes\n```bash\n# not a heading\n```\n';
    expect([...anchors(text)]).toEqual(['title', 'tests-npm-run-testdocker', 'sizes', 'sizes-1']);
  });

  it('lists link targets outside fenced blocks and inline code', () => {
    const text = 'See [a](a.md#x) and `[b](b.md)`.\n```\n[c](c.md)\n```\n[d](https://example.com)\n';
    expect(linkTargets(text)).toEqual(['a.md#x', 'https://example.com']);
  });

  it('finds the fenced blocks of a language under a heading, and refuses an unknown heading', () => {
    const text =
      '## One\n```bash\necho 1\n```\n```sql\n# not a heading\n```\n```sql\nSELECT 1;\n```\n## Two\n```bash\necho 2\n```\n';
    expect(codeBlocks(text, 'bash', 'One')).toEqual(['echo 1\n']);
    expect(codeBlocks(text, 'sql', 'One')).toEqual(['# not a heading\n', 'SELECT 1;\n']);
    expect(codeBlocks(text, 'bash', 'Two')).toEqual(['echo 2\n']);
    expect(() => codeBlocks(text, 'bash', 'Three')).toThrow('no heading "Three"');
  });
});

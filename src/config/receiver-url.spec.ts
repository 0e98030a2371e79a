import { receiverBaseUrl, receiverEndpoint } from './receiver-url';

describe('RECEIVER_URL forms', () => {
  it.each([
    ['http://host:3000', 'http://host:3000'],
    ['http://host:3000/', 'http://host:3000'],
    ['http://host:3000/receiver/embeddings', 'http://host:3000'],
    ['http://host:3000/receiver/embeddings/', 'http://host:3000'],
    ['https://gw.example/api/receiver/embeddings', 'https://gw.example/api'],
    ['https://gw.example/api', 'https://gw.example/api'],
  ])('%s is the receiver at %s', (url, base) => {
    expect(receiverBaseUrl(url)).toBe(base);
    expect(receiverEndpoint(url)).toBe(`${base}/receiver/embeddings`);
  });
});

/** What can go wrong in a search; SearchExceptionFilter maps every code in an exhaustive switch. */
export enum SearchErrorCode {
  /** A request that validation alone cannot refuse: a vector of the wrong length, no model to default to (400). */
  InvalidInput = 'INVALID_INPUT',
  /** The query text is longer than EMBED_MAX_INPUT_CHARS (413). */
  QueryTooLarge = 'QUERY_TOO_LARGE',
  /** No such task, no stored vectors of the model, or a model this instance does not serve for a `query` (404). */
  NotFound = 'NOT_FOUND',
  /** The model cannot embed the query now, or the search ran past SEARCH_TIMEOUT_MS (503). */
  Unavailable = 'UNAVAILABLE',
  /** No index to build: pgvector is not in use, or the model has more dimensions than HNSW takes (409). */
  NotIndexable = 'NOT_INDEXABLE',
  /** The model's back end cannot embed this query (with this prompt_name) at all (501). */
  Unsupported = 'UNSUPPORTED',
}

export class SearchError extends Error {
  constructor(
    readonly code: SearchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SearchError';
  }
}

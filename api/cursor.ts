/**
 * The cursors of lists (`nextCursor`, SQS `NextToken`): the last name a page
 * looked at, base64url-encoded. Clients treat them as opaque; the next page
 * starts after that name, so a cursor survives creates and deletes.
 */
export function cursorOf(after: string | null): string | null {
  return after === null ? null : Buffer.from(after, 'utf8').toString('base64url');
}

/** The name a cursor continues after; null when it is not one this gateway made. */
export function afterCursor(cursor: string): string | null {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  return name === '' || cursorOf(name) !== cursor ? null : name;
}

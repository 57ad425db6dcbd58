import type { Request, Response } from 'express';

/** What serves one operation of openapi.yaml (api/handlers.ts names one per operationId). */
export type Handler = (req: Request, res: Response) => Promise<void> | void;

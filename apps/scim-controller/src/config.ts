import { commonEnv, httpEnv, mongoEnv } from '@scimbridge/config';
import { z } from 'zod';

/** KUBECONFIG unset = in-cluster service account. PORT serves ops endpoints only. */
export const controllerConfigSchema = commonEnv
  .extend(httpEnv(9092).shape)
  .extend(mongoEnv.shape)
  .extend({ KUBECONFIG: z.string().min(1).optional() });
export type ControllerConfig = z.infer<typeof controllerConfigSchema>;

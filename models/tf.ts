/**
 * The only module that imports TensorFlow.js (as bus/kafka.ts is the only one that imports
 * kafkajs). `@tensorflow/tfjs` is the union package: its Node build carries the gradients and
 * the chained tensor methods that `@tensorflow/tfjs-layers` needs, which the bare
 * `@tensorflow/tfjs-core` Node build lacks. Production mode: no debug checks, and no console
 * advice to install the native backend (models/backend.ts chooses the backend and says why).
 */
import * as tf from '@tensorflow/tfjs';

tf.enableProdMode();

export { tf };
export type Tensor = tf.Tensor;
export type LayersModel = tf.LayersModel;

/**
 * Output buffer size of every gzip/gunzip stream in the pipelines (Node's default is 16 KiB). A GB of SQL
 * through 16 KiB buffers is ~64,000 callbacks and Buffers on the main thread; 256 KiB cuts that sixteenfold
 * (bench:backup: about 0.6–1 s less CPU per GB) for 256 KiB more memory per stream.
 */
export const ZLIB_CHUNK_BYTES = 256 * 1024;

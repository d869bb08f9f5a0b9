/* x264enc: libx264 encoding raw yuv420p frames (looped) with the encoder
 * bench's ffmpeg settings (ultrafast, zerolatency, baseline, VBV at the
 * bitrate, keyint 60); prints the CPU ms per frame (all threads) as JSON.
 * build/bench-x264.sh builds it for amd64 and arm64. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x264.h>
static double cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: x264enc raw W H kbps frames\n"); return 2; }
  int w = atoi(argv[2]), h = atoi(argv[3]), kbps = atoi(argv[4]), n = atoi(argv[5]);
  size_t fsz = (size_t)w * h * 3 / 2;
  FILE *f = fopen(argv[1], "rb"); if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END); long total = ftell(f); fseek(f, 0, SEEK_SET);
  int nin = total / fsz; uint8_t *raw = malloc(total);
  if (fread(raw, 1, total, f) != (size_t)total) { perror("read"); return 1; }
  double c0 = cpu_ms();
  x264_param_t p;
  x264_param_default_preset(&p, "ultrafast", "zerolatency");
  p.i_width = w; p.i_height = h; p.i_fps_num = 30; p.i_fps_den = 1; p.i_csp = X264_CSP_I420;
  p.rc.i_rc_method = X264_RC_ABR; p.rc.i_bitrate = kbps; p.rc.i_vbv_max_bitrate = kbps; p.rc.i_vbv_buffer_size = kbps;
  p.i_keyint_max = 60; p.b_repeat_headers = 1; p.b_annexb = 1; p.i_log_level = X264_LOG_ERROR;
  x264_param_apply_profile(&p, "baseline");
  x264_t *enc = x264_encoder_open(&p); if (!enc) { fprintf(stderr, "open failed\n"); return 1; }
  x264_picture_t pic, out; x264_picture_init(&pic);
  pic.img.i_csp = X264_CSP_I420; pic.img.i_plane = 3;
  pic.img.i_stride[0] = w; pic.img.i_stride[1] = pic.img.i_stride[2] = w / 2;
  long bytes = 0; x264_nal_t *nals; int nn;
  double c1 = cpu_ms();
  for (int i = 0; i < n; i++) {
    uint8_t *fr = raw + (size_t)(i % nin) * fsz;
    pic.img.plane[0] = fr; pic.img.plane[1] = fr + w * h; pic.img.plane[2] = fr + w * h + w * h / 4;
    pic.i_pts = i;
    int sz = x264_encoder_encode(enc, &nals, &nn, &pic, &out);
    if (sz < 0) { fprintf(stderr, "encode failed\n"); return 1; }
    bytes += sz;
  }
  double c2 = cpu_ms();
  x264_encoder_close(enc);
  printf("{\"cpu_ms_per_frame\": %.3f, \"setup_ms\": %.1f, \"bytes_per_frame\": %ld, \"frames\": %d}\n", (c2 - c1) / n, c1 - c0, bytes / n, n);
  return 0;
}

/* The test oracle for Wetron's Darknet reader (tests/test_format_darknet.py): Darknet's own
 * library (Debian's libdarknet) parses a .cfg and, on request, writes or reads a .weights
 * file; this prints what Darknet computed, one JSON object per line on stdout:
 *   {"net": ...}                     the network's batch, width, height, channels, inputs
 *   {"layer": i, "type": ..., ...}   each layer's type, batch, out_w/out_h/out_c, outputs,
 *                                    inputs, and its parameter arrays in Darknet's memory
 *                                    (count, first and last value, sum)
 * Darknet's own layer table (shapes, BFLOPs) goes to stderr as usual.
 *
 *   darknet_oracle shapes CFG          parse only
 *   darknet_oracle write CFG OUT       fill the arrays Darknet initialises to constants
 *                                      (biases, scales, rolling statistics) with values
 *                                      that tell every array and layer apart, then let
 *                                      Darknet write OUT (save_weights)
 *   darknet_oracle read CFG WEIGHTS    let Darknet read WEIGHTS (load_weights)
 */
#include <stdio.h>
#include <string.h>
#include "darknet.h"

static int fill;

static void array(const char *sub, const char *name, float *a, long n, int li, int aj, int *first)
{
    long k;
    double sum = 0;
    if (!a || n <= 0) return;
    if (fill && strcmp(name, "weights") != 0)
        for (k = 0; k < n; ++k) a[k] = li + aj / 8.0f + (k % 16) / 1024.0f;
    for (k = 0; k < n; ++k) sum += a[k];
    printf("%s{\"sub\":\"%s\",\"name\":\"%s\",\"count\":%ld,\"first\":%.9g,\"last\":%.9g,\"sum\":%.17g}",
           *first ? "" : ",", sub, name, n, a[0], a[n - 1], sum);
    *first = 0;
}

/* the arrays of a convolutional or connected (sub)layer, as Darknet allocated them */
static void arrays(const char *sub, layer *l, int li, int *aj, int *first)
{
    long n = l->type == CONNECTED ? l->outputs : l->n;
    long nw = l->type == CONNECTED ? (long)l->outputs * l->inputs : l->nweights;
    if (l->type == LOCAL) {
        n = l->outputs;
        nw = (long)l->size * l->size * l->c * l->n * l->out_w * l->out_h;
    }
    if (l->type == BATCHNORM) n = l->c;
    else array(sub, "biases", l->biases, n, li, (*aj)++, first);
    if (l->batch_normalize || l->type == BATCHNORM) {
        array(sub, "scales", l->scales, n, li, (*aj)++, first);
        array(sub, "rolling_mean", l->rolling_mean, n, li, (*aj)++, first);
        array(sub, "rolling_variance", l->rolling_variance, n, li, (*aj)++, first);
    }
    if (l->type != BATCHNORM) array(sub, "weights", l->weights, nw, li, (*aj)++, first);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s shapes|write|read CFG [WEIGHTS]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    fill = strcmp(mode, "write") == 0;
    network *net = parse_network_cfg(argv[2]);
    if (strcmp(mode, "read") == 0) load_weights(net, argv[3]);
    printf("{\"net\":{\"batch\":%d,\"w\":%d,\"h\":%d,\"c\":%d,\"inputs\":%d,\"n\":%d}}\n",
           net->batch, net->w, net->h, net->c, net->inputs, net->n);
    int i;
    for (i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        int aj = 0, first = 1;
        printf("{\"layer\":%d,\"type\":%d,\"batch\":%d,\"out_w\":%d,\"out_h\":%d,\"out_c\":%d,"
               "\"outputs\":%d,\"inputs\":%d,\"arrays\":[",
               i, l->type, l->batch, l->out_w, l->out_h, l->out_c, l->outputs, l->inputs);
        switch (l->type) {
        case CONVOLUTIONAL: case DECONVOLUTIONAL: case CONNECTED: case BATCHNORM: case LOCAL:
            arrays("", l, i, &aj, &first);
            break;
        case RNN: case CRNN:
            arrays("input_layer", l->input_layer, i, &aj, &first);
            arrays("self_layer", l->self_layer, i, &aj, &first);
            arrays("output_layer", l->output_layer, i, &aj, &first);
            break;
        case GRU:
            arrays("wz", l->wz, i, &aj, &first); arrays("wr", l->wr, i, &aj, &first);
            arrays("wh", l->wh, i, &aj, &first); arrays("uz", l->uz, i, &aj, &first);
            arrays("ur", l->ur, i, &aj, &first); arrays("uh", l->uh, i, &aj, &first);
            break;
        case LSTM:
            arrays("wi", l->wi, i, &aj, &first); arrays("wf", l->wf, i, &aj, &first);
            arrays("wo", l->wo, i, &aj, &first); arrays("wg", l->wg, i, &aj, &first);
            arrays("ui", l->ui, i, &aj, &first); arrays("uf", l->uf, i, &aj, &first);
            arrays("uo", l->uo, i, &aj, &first); arrays("ug", l->ug, i, &aj, &first);
            break;
        default:
            break;
        }
        printf("]}\n");
    }
    if (fill) save_weights(net, argv[3]);
    return 0;
}

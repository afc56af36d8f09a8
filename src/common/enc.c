/* enc.c - hex and strict base64. */
#include "common/enc.h"

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void pw_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pw_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

size_t pw_b64_encoded_len(size_t n, bool pad)
{
	if (pad)
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t pw_b64_encode(const uint8_t *in, size_t n, char *out, bool pad)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = 0;
	return o;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t pw_b64_decoded_max(size_t inlen)
{
	return inlen / 4 * 3 + 3;
}

long pw_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap, bool pad)
{
	size_t n = inlen;
	if (pad) {
		if (n % 4)
			return -1;
		if (n && in[n - 1] == '=')
			n--;
		if (n && in[n - 1] == '=')
			n--;
		/* inlen % 4 == 0, so stripping 0-2 pads leaves n % 4 in {0, 3, 2}: consistent. */
	}
	if (n % 4 == 1)
		return -1;
	size_t outlen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (outlen > outcap)
		return -1;
	size_t o = 0, i = 0;
	for (; i + 4 <= n; i += 4) {
		int a = b64val(in[i]), b = b64val(in[i + 1]), c = b64val(in[i + 2]),
		    d = b64val(in[i + 3]);
		if ((a | b | c | d) < 0)
			return -1;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	size_t rem = n - i;
	if (rem == 2) {
		int a = b64val(in[i]), b = b64val(in[i + 1]);
		if ((a | b) < 0 || (b & 15))
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
	} else if (rem == 3) {
		int a = b64val(in[i]), b = b64val(in[i + 1]), c = b64val(in[i + 2]);
		if ((a | b | c) < 0 || (c & 3))
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
	}
	return (long)o;
}

#include "textflag.h"

// func scanPairsSSE2(b []byte, t *[8]byte) (i, done int)
//
// For each 16 positions p of b (while p+17 <= len(b)): X0 holds b[p:p+16]
// and X1 b[p+1:p+17]; a pair k is at p+j where byte j of X0 equals t[k]
// and byte j of X1 equals t[4+k] (each byte of t is broadcast to a whole
// register, X6 to X13). The first set bit of the OR of the four masks is
// the first pair.
TEXT ·scanPairsSSE2(SB), NOSPLIT, $0-48
	MOVQ	b_base+0(FP), SI
	MOVQ	b_len+8(FP), BX
	MOVQ	t+24(FP), DI
	XORQ	AX, AX
	CMPQ	BX, $17
	JLT	none
	SUBQ	$17, BX // last p that can load 17 bytes
	MOVBLZX	0(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X6
	PSHUFD	$0, X6, X6
	MOVBLZX	1(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X7
	PSHUFD	$0, X7, X7
	MOVBLZX	2(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X8
	PSHUFD	$0, X8, X8
	MOVBLZX	3(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X9
	PSHUFD	$0, X9, X9
	MOVBLZX	4(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X10
	PSHUFD	$0, X10, X10
	MOVBLZX	5(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X11
	PSHUFD	$0, X11, X11
	MOVBLZX	6(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X12
	PSHUFD	$0, X12, X12
	MOVBLZX	7(DI), CX
	IMULL	$0x01010101, CX
	MOVL	CX, X13
	PSHUFD	$0, X13, X13

loop:
	MOVOU	(SI)(AX*1), X0
	MOVOU	1(SI)(AX*1), X1

	MOVO	X0, X2
	PCMPEQB	X6, X2
	MOVO	X1, X3
	PCMPEQB	X10, X3
	PAND	X3, X2
	MOVO	X2, X4

	MOVO	X0, X2
	PCMPEQB	X7, X2
	MOVO	X1, X3
	PCMPEQB	X11, X3
	PAND	X3, X2
	POR	X2, X4

	MOVO	X0, X2
	PCMPEQB	X8, X2
	MOVO	X1, X3
	PCMPEQB	X12, X3
	PAND	X3, X2
	POR	X2, X4

	PCMPEQB	X9, X0
	PCMPEQB	X13, X1
	PAND	X1, X0
	POR	X0, X4

	PMOVMSKB	X4, CX
	TESTL	CX, CX
	JNZ	found
	ADDQ	$16, AX
	CMPQ	AX, BX
	JLE	loop

none:
	MOVQ	$-1, i+32(FP)
	MOVQ	AX, done+40(FP)
	RET

found:
	BSFL	CX, CX
	ADDQ	CX, AX
	MOVQ	AX, i+32(FP)
	MOVQ	AX, done+40(FP)
	RET

// func scanPairsAVX2(b []byte, t *[8]byte) (i, done int)
//
// scanPairsSSE2 32 places at a time.
TEXT ·scanPairsAVX2(SB), NOSPLIT, $0-48
	MOVQ	b_base+0(FP), SI
	MOVQ	b_len+8(FP), BX
	MOVQ	t+24(FP), DI
	XORQ	AX, AX
	CMPQ	BX, $33
	JLT	none
	SUBQ	$33, BX // last p that can load 33 bytes
	VPBROADCASTB	0(DI), Y6
	VPBROADCASTB	1(DI), Y7
	VPBROADCASTB	2(DI), Y8
	VPBROADCASTB	3(DI), Y9
	VPBROADCASTB	4(DI), Y10
	VPBROADCASTB	5(DI), Y11
	VPBROADCASTB	6(DI), Y12
	VPBROADCASTB	7(DI), Y13

loop:
	VMOVDQU	(SI)(AX*1), Y0
	VMOVDQU	1(SI)(AX*1), Y1

	VPCMPEQB	Y6, Y0, Y2
	VPCMPEQB	Y10, Y1, Y3
	VPAND	Y3, Y2, Y4

	VPCMPEQB	Y7, Y0, Y2
	VPCMPEQB	Y11, Y1, Y3
	VPAND	Y3, Y2, Y2
	VPOR	Y2, Y4, Y4

	VPCMPEQB	Y8, Y0, Y2
	VPCMPEQB	Y12, Y1, Y3
	VPAND	Y3, Y2, Y2
	VPOR	Y2, Y4, Y4

	VPCMPEQB	Y9, Y0, Y2
	VPCMPEQB	Y13, Y1, Y3
	VPAND	Y3, Y2, Y2
	VPOR	Y2, Y4, Y4

	VPMOVMSKB	Y4, CX
	TESTL	CX, CX
	JNZ	found
	ADDQ	$32, AX
	CMPQ	AX, BX
	JLE	loop

none:
	VZEROUPPER
	MOVQ	$-1, i+32(FP)
	MOVQ	AX, done+40(FP)
	RET

found:
	VZEROUPPER
	BSFL	CX, CX
	ADDQ	CX, AX
	MOVQ	AX, i+32(FP)
	MOVQ	AX, done+40(FP)
	RET

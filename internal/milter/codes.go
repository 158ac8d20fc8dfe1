package milter

// Commands the MTA sends (SMFIC_* in libmilter's mfdef.h).
const (
	CmdAbort   = 'A' // SMFIC_ABORT: abort the current message
	CmdBody    = 'B' // SMFIC_BODY: a body chunk
	CmdConnect = 'C' // SMFIC_CONNECT: client connection
	CmdMacro   = 'D' // SMFIC_MACRO: macros for the next command
	CmdEOB     = 'E' // SMFIC_BODYEOB: end of body
	CmdHelo    = 'H' // SMFIC_HELO
	CmdHeader  = 'L' // SMFIC_HEADER: one header
	CmdMail    = 'M' // SMFIC_MAIL: sender and ESMTP arguments
	CmdEOH     = 'N' // SMFIC_EOH: end of headers
	CmdOptNeg  = 'O' // SMFIC_OPTNEG: option negotiation
	CmdQuit    = 'Q' // SMFIC_QUIT: close the connection
	CmdRcpt    = 'R' // SMFIC_RCPT: recipient and ESMTP arguments
	CmdData    = 'T' // SMFIC_DATA
	CmdUnknown = 'U' // SMFIC_UNKNOWN: an unknown SMTP command
	CmdQuitNC  = 'K' // SMFIC_QUIT_NC: quit, a new connection follows
)

// Replies the milter sends (SMFIR_* in mfdef.h).
const (
	RepAddRcpt    = '+' // SMFIR_ADDRCPT
	RepDelRcpt    = '-' // SMFIR_DELRCPT
	RepAddRcptPar = '2' // SMFIR_ADDRCPT_PAR: recipient with ESMTP args
	RepShutdown   = '4' // SMFIR_SHUTDOWN: 421, close the session
	RepAccept     = 'a' // SMFIR_ACCEPT
	RepReplBody   = 'b' // SMFIR_REPLBODY: a chunk of the new body
	RepContinue   = 'c' // SMFIR_CONTINUE
	RepDiscard    = 'd' // SMFIR_DISCARD
	RepChgFrom    = 'e' // SMFIR_CHGFROM: new sender with ESMTP args
	RepConnFail   = 'f' // SMFIR_CONN_FAIL
	RepAddHeader  = 'h' // SMFIR_ADDHEADER
	RepInsHeader  = 'i' // SMFIR_INSHEADER
	RepSetSymList = 'l' // SMFIR_SETSYMLIST
	RepChgHeader  = 'm' // SMFIR_CHGHEADER
	RepProgress   = 'p' // SMFIR_PROGRESS: still working
	RepQuarantine = 'q' // SMFIR_QUARANTINE
	RepReject     = 'r' // SMFIR_REJECT
	RepSkip       = 's' // SMFIR_SKIP: skip further body chunks
	RepTempfail   = 't' // SMFIR_TEMPFAIL
	RepReplyCode  = 'y' // SMFIR_REPLYCODE: an SMTP reply text
)

// Action flags: which modifications the milter may make (SMFIF_*).
const (
	ActAddHeaders uint32 = 0x01  // SMFIF_ADDHDRS
	ActChangeBody uint32 = 0x02  // SMFIF_CHGBODY
	ActAddRcpt    uint32 = 0x04  // SMFIF_ADDRCPT
	ActDelRcpt    uint32 = 0x08  // SMFIF_DELRCPT
	ActChgHeaders uint32 = 0x10  // SMFIF_CHGHDRS
	ActQuarantine uint32 = 0x20  // SMFIF_QUARANTINE
	ActChangeFrom uint32 = 0x40  // SMFIF_CHGFROM
	ActAddRcptPar uint32 = 0x80  // SMFIF_ADDRCPT_PAR
	ActSetSymList uint32 = 0x100 // SMFIF_SETSYMLIST
	ActAll               = ActAddHeaders | ActChangeBody | ActAddRcpt | ActDelRcpt | ActChgHeaders | ActQuarantine | ActChangeFrom | ActAddRcptPar | ActSetSymList
)

// Protocol step flags (SMFIP_*): events the milter does not want
// (No*), replies it will not send (NR*), and extensions.
const (
	ProtoNoConnect  uint32 = 0x1
	ProtoNoHelo     uint32 = 0x2
	ProtoNoMail     uint32 = 0x4
	ProtoNoRcpt     uint32 = 0x8
	ProtoNoBody     uint32 = 0x10
	ProtoNoHeaders  uint32 = 0x20
	ProtoNoEOH      uint32 = 0x40
	ProtoNRHeader   uint32 = 0x80 // SMFIP_NR_HDR (also SMFIP_NOHREPL)
	ProtoNoUnknown  uint32 = 0x100
	ProtoNoData     uint32 = 0x200
	ProtoSkip       uint32 = 0x400 // the MTA understands SMFIR_SKIP
	ProtoRcptRej    uint32 = 0x800 // send rejected recipients too
	ProtoNRConnect  uint32 = 0x1000
	ProtoNRHelo     uint32 = 0x2000
	ProtoNRMail     uint32 = 0x4000
	ProtoNRRcpt     uint32 = 0x8000
	ProtoNRData     uint32 = 0x10000
	ProtoNRUnknown  uint32 = 0x20000
	ProtoNREOH      uint32 = 0x40000
	ProtoNRBody     uint32 = 0x80000
	ProtoHdrLeadSpc uint32 = 0x100000 // header values keep their leading space
)

// Event masks per protocol version, as Postfix's milter8 defines them.
const (
	protoV2     = ProtoNoConnect | ProtoNoHelo | ProtoNoMail | ProtoNoRcpt | ProtoNoBody | ProtoNoHeaders | ProtoNoEOH
	protoV3     = protoV2 | ProtoNoUnknown
	protoV4     = protoV3 | ProtoNoData
	protoNoSend = protoV4
	protoNoRepl = ProtoNRHeader | ProtoNRConnect | ProtoNRHelo | ProtoNRMail | ProtoNRRcpt | ProtoNRData | ProtoNRUnknown | ProtoNREOH | ProtoNRBody
	// ProtoV6 is every protocol flag postern offers at version 6.
	ProtoV6 = protoV4 | ProtoSkip | ProtoRcptRej | protoNoRepl | ProtoHdrLeadSpc
)

// Address families in SMFIC_CONNECT (SMFIA_*).
const (
	FamilyUnknown = 'U'
	FamilyUnix    = 'L'
	FamilyInet    = '4'
	FamilyInet6   = '6'
)

// Macro stages in the OPTNEG reply's macro lists (SMFIM_*).
const (
	StageConnect = 0
	StageHelo    = 1
	StageMail    = 2
	StageRcpt    = 3
	StageData    = 4
	StageEOM     = 5
	StageEOH     = 6
)

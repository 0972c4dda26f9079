package contracts

import (
	"math/big"
	"testing"

	"github.com/kaiachain/kaia/common"
)

func TestArtifactsParseAndEncode(t *testing.T) {
	for name, method := range map[string]string{Bridge: "requestKLAYTransfer", ServiceChainToken: "requestValueTransfer", ServiceChainNFT: "requestValueTransfer"} {
		c, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Bin) < 1000 {
			t.Errorf("%s: bytecode has only %d bytes", name, len(c.Bin))
		}
		if _, ok := c.ABI.Methods[method]; !ok {
			t.Errorf("%s has no method %s", name, method)
		}
	}
	b, _ := Load(Bridge)
	data, err := b.ABI.Pack("requestKLAYTransfer", common.HexToAddress("0x01"), big.NewInt(5), []byte{})
	if err != nil || len(data) != 4+32*4 {
		t.Fatalf("requestKLAYTransfer encoding: %d bytes, %v", len(data), err)
	}
	tok, _ := Load(ServiceChainToken)
	if _, err := tok.DeployData(common.HexToAddress("0x02")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("Nope"); err == nil {
		t.Fatal("Load of an unknown name succeeded")
	}
}

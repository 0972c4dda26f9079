package tc

// Preset is a named mix of test cases with their weights, as Kaia's QA
// runs them: -tc=reads runs the preset's cases in one worker, each given
// its weight's share of the iterations.
type Preset struct {
	Name        string
	Description string
	Cases       []Weighted
}

// Weighted is a case name with its weight in a mix.
type Weighted struct {
	Name   string
	Weight int
}

// nativeTypes are kaia-load-tester's names of the Kaia transaction types:
// each type's case, then its fee-delegated and fee-delegated-with-ratio
// forms, named as kaia-load-tester names them
// (newValueTransferTC, newFeeDelegatedValueTransferTC,
// newFeeDelegatedValueTransferWithRatioTC).
func nativeTypes() []string {
	var out []string
	for _, base := range []string{"ValueTransfer", "ValueTransferMemo", "ValueTransferSmallMemo", "ValueTransferLargeMemo",
		"AccountUpdate", "SmartContractDeploy", "SmartContractExecution", "Cancel", "ValueTransferWithCancel", "ChainDataAnchoring"} {
		out = append(out, "new"+base+"TC", "newFeeDelegated"+base+"TC", "newFeeDelegated"+base+"WithRatioTC")
	}
	return out
}

// presets is the table of shipped mixes.
func presets() []Preset {
	return []Preset{
		{Name: "signedTransfers", Description: "legacy signed transfers alone",
			Cases: []Weighted{{"transferSignedTx", 1}}},
		{Name: "tokens", Description: "ERC-20 and ERC-721 transfers, one to one",
			Cases: []Weighted{{"erc20TransferTC", 1}, {"erc721TransferTC", 1}}},
		// Kaia QA's five-read mix is not published with kaia-load-tester;
		// these five reads carry its 60:10:40:10:20 weights.
		{Name: "reads", Description: "five reads weighted 60:10:40:10:20",
			Cases: []Weighted{{"readGasPrice", 60}, {"readBlockNumber", 10}, {"readGetBlockByNumber", 40},
				{"readGetAccount", 10}, {"readGetStorageAt", 20}}},
		{Name: "internalTx", Description: "internal transactions: a contract that pays out, and one that mints",
			Cases: []Weighted{{"internalTxTC", 1}, {"mintNFTTC", 1}}},
		{Name: "nativeTypes", Description: "every Kaia transaction type, plain and fee-delegated, equally",
			Cases: equal(nativeTypes())},
	}
}

func equal(names []string) []Weighted {
	out := make([]Weighted, len(names))
	for i, n := range names {
		out[i] = Weighted{n, 1}
	}
	return out
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IMintable {
    function mint(address to) external returns (uint256);
}

// InternalTx makes internal transactions: each sendRewards call mints a
// token of the given ERC-721 for the invitee (a call into another contract)
// and pays the value sent with it out to the invitee and the host (two
// value transfers), as kaia-load-tester's internalTxTC does.
contract InternalTx {
    IMintable public immutable token;
    uint256 public rewards;

    event Rewarded(address indexed invitee, address indexed host, uint256 tokenId, uint256 value);

    constructor(address nft) {
        token = IMintable(nft);
    }

    function sendRewards(address invitee, address host) external payable {
        uint256 id = token.mint(invitee);
        uint256 half = msg.value / 2;
        (bool ok, ) = payable(invitee).call{value: half}("");
        require(ok, "pay invitee");
        (ok, ) = payable(host).call{value: msg.value - half}("");
        require(ok, "pay host");
        rewards++;
        emit Rewarded(invitee, host, id, msg.value);
    }
}

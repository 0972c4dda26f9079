// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IERC721Receiver {
    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external
        returns (bytes4);
}

// KlayslaveERC721 is a small ERC-721 for load tests. Minting is open to
// anyone: mintBatch lets the set-up give each account a pool of ids it
// chose (so it knows them without reading logs), mint and mintCard number
// tokens from a counter (used by InternalTx and mintNFTTC). Set-up ids are
// chosen far above the counter's range, so the two never meet.
contract KlayslaveERC721 {
    string public constant name = "Klayslave NFT";
    string public constant symbol = "KSN";
    uint256 public minted;
    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    mapping(uint256 => address) public getApproved;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 || id == 0x80ac58cd || id == 0x5b5e139f;
    }

    function ownerOf(uint256 tokenId) public view returns (address) {
        address owner = _owners[tokenId];
        require(owner != address(0), "no such token");
        return owner;
    }

    function balanceOf(address owner) external view returns (uint256) {
        require(owner != address(0), "zero address");
        return _balances[owner];
    }

    function approve(address to, uint256 tokenId) external {
        address owner = ownerOf(tokenId);
        require(msg.sender == owner || isApprovedForAll[owner][msg.sender], "not allowed");
        getApproved[tokenId] = to;
        emit Approval(owner, to, tokenId);
    }

    function setApprovalForAll(address operator, bool approved) external {
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function transferFrom(address from, address to, uint256 tokenId) public {
        address owner = ownerOf(tokenId);
        require(owner == from, "not the owner");
        require(
            msg.sender == owner || getApproved[tokenId] == msg.sender || isApprovedForAll[owner][msg.sender],
            "not allowed"
        );
        require(to != address(0), "zero address");
        delete getApproved[tokenId];
        unchecked {
            _balances[from]--;
        }
        _balances[to]++;
        _owners[tokenId] = to;
        emit Transfer(from, to, tokenId);
    }

    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        if (to.code.length > 0) {
            require(
                IERC721Receiver(to).onERC721Received(msg.sender, from, tokenId, data)
                    == IERC721Receiver.onERC721Received.selector,
                "receiver refused"
            );
        }
    }

    // mintBatch gives to[i] the ids firstId + i*perAccount ... + perAccount-1.
    // It reverts if any of them exists.
    function mintBatch(address[] calldata to, uint256 firstId, uint256 perAccount) external {
        uint256 id = firstId;
        for (uint256 i = 0; i < to.length; i++) {
            for (uint256 j = 0; j < perAccount; j++) {
                _mint(to[i], id);
                id++;
            }
        }
    }

    // mint gives to the next counter id and returns it.
    function mint(address to) public returns (uint256) {
        uint256 id = ++minted;
        _mint(to, id);
        return id;
    }

    // mintCard mints one token for the caller (kaia-load-tester's mintNFTTC).
    function mintCard() external returns (uint256) {
        return mint(msg.sender);
    }

    function _mint(address to, uint256 tokenId) internal {
        require(to != address(0), "zero address");
        require(_owners[tokenId] == address(0), "token exists");
        _owners[tokenId] = to;
        _balances[to]++;
        emit Transfer(address(0), to, tokenId);
    }
}
